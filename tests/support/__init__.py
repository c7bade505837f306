"""Helpers shared by tests: realistic pages built from the real texts in ``../shared``."""
