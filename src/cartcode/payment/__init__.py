"""Medicare payment estimates for CAR-T claims, explained part by part from the KB's cited rates.

- :func:`estimate_inpatient` - IPPS, one MS-DRG 018 discharge (FY2021-FY2027 tables);
- :func:`estimate_outpatient` - OPPS, the administration APC and the product line by ASP;
- :func:`estimate_professional` - the physician fee schedule, 38228 (38225-38227 bundled);
- :func:`estimate_encounter` - the estimate for `recommend`'s encounter facts.

Each returns an :class:`Estimate` (total, currency, components with formula in words and sources,
inputs given or defaulted, warnings naming every part left out). A rate the KB does not hold is
never invented: the estimate says which one is missing.
"""

from cartcode.payment._encounter import HOSPITAL_FIELDS, estimate_encounter
from cartcode.payment._ipps import estimate_inpatient
from cartcode.payment._model import Component, Estimate, Input
from cartcode.payment._opps import estimate_outpatient
from cartcode.payment._pfs import estimate_professional

__all__ = [
    "HOSPITAL_FIELDS",
    "Component",
    "Estimate",
    "Input",
    "estimate_encounter",
    "estimate_inpatient",
    "estimate_outpatient",
    "estimate_professional",
]
