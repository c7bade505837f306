"""Dedupe stage benchmark: ``python -m bench.dedupe.run``."""
