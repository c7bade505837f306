"""clean service."""
