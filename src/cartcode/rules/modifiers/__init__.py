"""Rules: modifiers."""
