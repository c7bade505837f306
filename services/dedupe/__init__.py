"""dedupe service."""
