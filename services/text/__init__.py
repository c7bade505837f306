"""Language helpers shared by the stages (Arabic normalization)."""
