"""Rules: trial."""
