"""Extraction benchmark: trafilatura (baseline) vs our clean-stage extractor."""
