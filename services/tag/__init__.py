"""tag service."""
