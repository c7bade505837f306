"""demo service."""
