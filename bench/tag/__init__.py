"""Tagging benchmark: place precision/recall, relevance precision/recall/F1, throughput."""
