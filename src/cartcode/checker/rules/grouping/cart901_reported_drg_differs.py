"""CART901 reported-drg-differs."""

from __future__ import annotations

from collections.abc import Iterator

from cartcode.checker._context import Ctx, replace
from cartcode.checker._grouping import version_sources
from cartcode.checker._registry import Hit, rule
from cartcode.findings import Severity


@rule(
    "CART901", "reported-drg-differs", severity=Severity.WARNING,
    sources=["cms-msdrg-software"], settings=["inpatient"], needs=["drg"],
)
def reported_drg_differs(ctx: Ctx) -> Iterator[Hit]:
    """An inpatient claim that reports an MS-DRG other than the one CMS's grouper assigns to its codes.

    ## What it checks
    Inpatient claims (TOB 11X) that carry an MS-DRG (837I HI DR, FHIR supportingInfo `drg`, our
    JSON `drg`) and that the MS-DRG grouper can group: the definitions version in force on the
    discharge date (October and April updates) is run on the claim's diagnoses with POA, procedures,
    sex, age and discharge status. A different DRG on the claim is reported with the computed one.
    A CAR-T claim that reports a DRG other than 018 while the grouper assigns 018 is CART506's
    finding, not this one's.

    ## Why is this bad?
    The payer regroups the claim from its codes; a DRG on the claim that the codes do not support
    means the codes or the grouping the hospital ran are wrong, and the expected payment is too.

    ## Fix
    Check the codes and the patient data (sex, birth date, discharge status); report the DRG the
    grouper assigns.

    ## Fix safety
    Unsafe: the DRG follows from the codes; when the codes are wrong the computed DRG is too.

    ## References
    - cms-msdrg-software (the MS-DRG grouper; each finding also cites the definitions version,
      cms-msdrg-vNN-N)
    """
    drg = ctx.claim.drg
    if drg is None:
        return
    grouped = ctx.grouping
    if grouped is None or not grouped.grouped or grouped.drg is None or grouped.drg == drg.code:
        return
    car_t = ctx.ix.k.car_t_drg
    if grouped.drg == car_t and drg.code != car_t and ctx.drg018():
        return  # CART506 reports it
    yield Hit(
        f"the claim reports MS-DRG {drg.code}, but MS-DRG v{grouped.version} groups its codes to MS-DRG"
        f" {grouped.drg} ({grouped.title})",
        drg.loc,
        (("MS-DRG", drg.code),),
        replace("MS-DRG", drg.code, grouped.drg, safe=False),
        sources=version_sources(grouped.version, ctx.kb.sources),
    )
