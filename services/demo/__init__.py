"""The local demo news site: fictional Arabic and English outlets with feeds, for ``make run`` and tests.

See :mod:`services.demo.site` for the server; content lives in ``services/demo/content/``.
"""

from services.demo.command import main
from services.demo.site import RunningSite, build_app, feed_urls, serve

__all__ = ["RunningSite", "build_app", "feed_urls", "main", "serve"]
