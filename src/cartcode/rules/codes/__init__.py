"""Rules: codes."""
