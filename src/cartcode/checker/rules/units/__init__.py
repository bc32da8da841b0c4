"""Rules: units."""
