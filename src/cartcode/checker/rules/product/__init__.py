"""Rules: product."""
