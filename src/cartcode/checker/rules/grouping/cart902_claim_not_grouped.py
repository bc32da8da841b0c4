"""CART902 claim-not-grouped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from cartcode.checker._context import Ctx
from cartcode.checker._grouping import version_sources
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity

# Return codes that name the principal diagnosis: the finding points at it.
PDX_RETURN_CODES: Final = ("INVALID_PDX", "DX_CANNOT_BE_PDX", "INVALID_PRINCIPAL_DIAGNOSIS")
_SEVERITY: Final = {
    "ungroupable": Severity.ERROR,
    "missing_data": Severity.WARNING,
    "no_version": Severity.INFO,
    "unavailable": Severity.INFO,
}


@rule(
    "CART902", "claim-not-grouped", severity=Severity.WARNING,
    sources=["cms-msdrg-software"], settings=["inpatient"],
)
def claim_not_grouped(ctx: Ctx) -> Iterator[Hit]:
    """An inpatient claim the MS-DRG grouper cannot group, and why.

    ## What it checks
    Every inpatient claim (TOB 11X) is grouped with the MS-DRG definitions version in force on its
    discharge date. When that fails the finding says why: data the grouper needs is missing
    (discharge date, principal diagnosis, age - a birth date and an admission date -, discharge
    status) (warning); the grouper returns an ungroupable DRG (998/999: an invalid principal
    diagnosis, a code that cannot be principal, an invalid age, sex or discharge status) (error);
    no definitions version the grouper carries covers the discharge date - it never guesses one -
    (info); or the grouper is not installed or cannot start (info).

    ## Why is this bad?
    Medicare pays an inpatient stay by its MS-DRG. A claim the grouper cannot group is returned
    or paid nothing; missing patient data (sex, birth date, discharge status) leaves the DRG, and
    so the expected payment, unknown.

    ## Fix
    Supply the missing data or correct the code the reason names, then check again. For a
    discharge outside the carried versions, upgrade the grouper (docs/grouping.md).

    ## Fix safety
    No fix: the data has to come from the patient's record.

    ## References
    - cms-msdrg-software (the MS-DRG grouper and its return codes; each finding also cites the
      definitions version, cms-msdrg-vNN-N, when one covers the discharge date)
    """
    grouped = ctx.grouping
    if grouped is None or grouped.grouped:
        return
    reason = grouped.reason or grouped.status
    loc = ctx.claim.loc
    codes: tuple[tuple[str, str], ...] = ()
    cause = ""
    if grouped.status == "ungroupable" and reason.startswith(PDX_RETURN_CODES):
        pdx = ctx.grouping_view.coded("principal_dx")
        if pdx is not None:
            loc = pdx.loc or loc
            codes = ((pdx.system, pdx.code),)
            # the MCE's edits on the principal diagnosis say why (CART903 leaves them to this finding)
            mce = ctx.mce
            names = [e.name for e in mce.edits if e.location == "principal_dx"] if mce is not None else []
            if names:
                cause = f"; the Medicare Code Editor flags {pdx.system} {pdx.code}: {', '.join(names)}"
    if grouped.status == "ungroupable":
        message = f"the claim cannot be grouped: {reason}{cause}"
    elif grouped.status == "missing_data":
        version = f" (MS-DRG v{grouped.version})" if grouped.version else ""
        message = f"the claim cannot be grouped{version}: {reason}"
    else:
        message = f"no MS-DRG computed: {reason}"
    yield Hit(
        message, loc, codes, severity=_SEVERITY.get(grouped.status), sources=version_sources(grouped.version,
                                                                                              ctx.kb.sources),
    )
