"""FHIR R4 Claim / ExplanationOfBenefit (alone, in a Bundle or as NDJSON) and the --fix writer."""

from cartcode.formats.fhir._reader import read

__all__ = ["read"]
