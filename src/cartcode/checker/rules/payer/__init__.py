"""Rules: payer."""
