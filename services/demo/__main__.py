"""``python -m services.demo``: run the local demo news site."""

from services.demo.site import main

raise SystemExit(main())
