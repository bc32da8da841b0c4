"""Rules: inpatient."""
