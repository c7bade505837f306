"""runtime service."""
