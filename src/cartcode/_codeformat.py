"""The shape of a code in each system, and the one normal form every comparison uses."""

from __future__ import annotations

import re
from typing import Final

_PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    "ICD-10-PCS": re.compile(r"^[0-9A-HJ-NP-Z]{7}$"),
    "ICD-10-CM": re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$"),
    "CPT": re.compile(r"^[0-9]{4}[0-9FTU]$"),
    "HCPCS": re.compile(r"^[A-V][0-9]{4}$"),
    "revenue": re.compile(r"^[0-9]{4}$"),
    "modifier": re.compile(r"^[0-9A-Z]{2}$"),
    "condition": re.compile(r"^[0-9A-Z]{2}$"),
    "value": re.compile(r"^[0-9A-Z]{2}$"),
    "occurrence": re.compile(r"^[0-9A-Z]{2}$"),
    "MS-DRG": re.compile(r"^[0-9]{3}$"),
    "APC": re.compile(r"^[0-9]{4}$"),
    "note": re.compile(r"^\S.*$"),
}


def normalise(system: str, code: str) -> str:
    """Canonical form: upper case, ICD-10-CM with its dot after the third character,
    revenue codes 4 digits (0874), MS-DRG 3 digits (018)."""
    code = code.strip()
    if system == "note":
        return code
    code = code.upper()
    if system == "ICD-10-CM":
        bare = code.replace(".", "")
        return bare if len(bare) <= 3 else f"{bare[:3]}.{bare[3:]}"
    if system == "revenue" and code.isdigit() and len(code) == 3:
        return "0" + code
    if system == "MS-DRG" and code.isdigit() and len(code) < 3:
        return code.zfill(3)
    return code


def is_well_formed(system: str, code: str) -> bool:
    pattern = _PATTERNS.get(system)
    return pattern is not None and pattern.match(code) is not None


def hcpcs_system(code: str) -> str:
    """CPT (Category I/III, 5 characters ending in a digit/F/T/U and starting with a digit) or HCPCS Level II."""
    return "CPT" if code[:1].isdigit() else "HCPCS"
