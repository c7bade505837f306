"""Errors of the demo news site (see the tree in :mod:`services.errors`)."""

from __future__ import annotations

from services.errors import ConfigError

__all__ = ["ContentError", "DemoError"]


class DemoError(ConfigError):
    """The demo site cannot start as configured (bad flags, port in use, missing data)."""


class ContentError(DemoError):
    """A content file shipped with the demo site is malformed."""
