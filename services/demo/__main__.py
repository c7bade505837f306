"""``python -m services.demo``: run the local demo news site."""

from services.demo.command import main

raise SystemExit(main())
