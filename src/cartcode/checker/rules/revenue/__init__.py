"""Rules: revenue."""
