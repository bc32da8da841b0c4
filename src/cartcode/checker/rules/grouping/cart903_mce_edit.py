"""CART903 mce-edit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from cartcode.checker._context import Ctx, fmt_date
from cartcode.checker._grouping import version_sources
from cartcode.checker._registry import Hit, rule
from cartcode.checker.rules.grouping.cart902_claim_not_grouped import PDX_RETURN_CODES
from cartcode.findings import Severity
from cartcode.grouping import MceEdit

# What the MCE's edits mean (CMS's MCE documentation); an edit not listed is named as the MCE names it.
EDIT_TEXT: Final = {
    "INVALID_CODE": "is not a valid code on the discharge date",
    "SEX_CONFLICT": "conflicts with the patient's sex",
    "AGE_CONFLICT": "conflicts with the patient's age",
    "NEWBORN_DIAGNOSIS": "is a newborn diagnosis, inconsistent with the patient's age",
    "PEDIATRIC_DIAGNOSIS": "is a pediatric diagnosis, inconsistent with the patient's age",
    "MATERNITY_DIAGNOSIS": "is a maternity diagnosis, inconsistent with the patient's age",
    "ADULT_DIAGNOSIS": "is an adult diagnosis, inconsistent with the patient's age",
    "E_CODE_AS_PDX": "is an external cause code, which cannot be the principal diagnosis",
    "MANIFESTATION_AS_PDX": "is a manifestation code, which cannot be the principal diagnosis",
    "UNACCEPTABLE_PDX": "is not acceptable as the principal diagnosis",
    "DUPLICATE_OF_PDX": "duplicates the principal diagnosis",
    "QUESTIONABLE_ADMISSION": "is a questionable reason for an inpatient admission",
    "NON_COVERED": "is a procedure Medicare does not cover",
    "LIMITED_COVERAGE": "is a procedure Medicare covers only in limited circumstances",
    "OPEN_BIOPSY": "is an open biopsy procedure (review)",
    "WRONG_PROCEDURE_PERFORMED": "reports a wrong procedure performed",
    "BILATERAL": "is a bilateral procedure edit (review)",
    "INVALID_AGE": "the age is not a valid age (0-124)",
    "INVALID_SEX": "the sex is not valid",
    "INVALID_DISCHARGE_STATUS": "the discharge status is not a valid UB-04 patient status",
    "REQUIRES_SDX": "requires a secondary diagnosis",
    "UNSPECIFIED": "is an unspecified code",
}
_CLAIM_LEVEL_FIELD: Final = {
    "INVALID_AGE": "birth_date", "INVALID_SEX": "sex", "INVALID_DISCHARGE_STATUS": "patient_status",
}


def _skipped(ctx: Ctx, edit: MceEdit, reported_pdx: bool) -> bool:
    """One problem, one finding: an edit another rule already reports."""
    if edit.location == "principal_dx" and reported_pdx:
        return True  # CART902: the claim is ungroupable because of its principal diagnosis
    if edit.name == "INVALID_CODE" and edit.code is not None:
        coded = ctx.grouping_view.coded(edit.location)
        day = ctx.pcs_date if coded is not None and coded.system == "ICD-10-PCS" else (
            ctx.pcs_date or ctx.claim.statement_from
        )
        if coded is not None and day is not None and ctx.ix.valid(coded.system, coded.code, day) is False:
            return True  # CART101 (or the code's own rule) reports the code outside its valid period
    return False


@rule(
    "CART903", "mce-edit", severity=Severity.WARNING,
    sources=["cms-msdrg-software"], settings=["inpatient"],
)
def mce_edit(ctx: Ctx) -> Iterator[Hit]:
    """An edit of CMS's Medicare Code Editor (MCE) on an inpatient claim.

    ## What it checks
    Every inpatient claim (TOB 11X) whose discharge date a carried MS-DRG definitions version
    covers is run through the Medicare Code Editor of that version: invalid codes on the date, sex
    and age conflicts, unacceptable principal diagnoses, manifestation or external cause codes as
    principal, questionable admissions, non-covered or limited-coverage procedures, invalid age,
    sex or discharge status. Each edit is one finding with the edit's name, the code and where it
    is on the claim (claim-level edits point at the field), citing the definitions version. Edits
    INVALID_* are errors, the others warnings. An invalid code that CART101 already reports (the
    KB's own validity period) and an edit on a principal diagnosis that makes the claim
    ungroupable (CART902) are not reported again.

    ## Why is this bad?
    Medicare's contractors run the same MCE before paying: a prepayment edit returns the claim to
    the provider or sends it to review, and a postpayment edit can take the payment back.

    ## Fix
    Correct the code (or the sex, birth date or discharge status) the edit names; for coverage
    edits, check the documentation and the coverage rules.

    ## Fix safety
    No fix: which code is right depends on the patient's record.

    ## References
    - cms-msdrg-software (the Medicare Code Editor; each finding also cites the definitions version
      in force on the discharge date, cms-msdrg-vNN-N)
    """
    report = ctx.mce
    if report is None or report.status != "edited" or not report.edits or report.version is None:
        return
    grouped = ctx.grouping
    reported_pdx = (
        grouped is not None and grouped.status == "ungroupable" and (grouped.reason or "").startswith(PDX_RETURN_CODES)
    )
    sources = version_sources(report.version, ctx.kb.sources)
    day = fmt_date(ctx.claim.discharge_date or ctx.claim.statement_to)
    for edit in report.edits:
        if _skipped(ctx, edit, reported_pdx):
            continue
        text = EDIT_TEXT.get(edit.name, "is flagged")
        severity = Severity.ERROR if edit.name.startswith("INVALID") else Severity.WARNING
        kind = edit.edit_type.lower() if edit.edit_type and edit.edit_type != "NONE" else "an"
        lead = f"MCE edit {edit.name} ({kind} edit, MS-DRG v{report.version}, discharge {day})"
        coded = ctx.grouping_view.coded(edit.location)
        if coded is not None:
            yield Hit(
                f"{lead}: {coded.system} {coded.code} {text}",
                coded.loc or ctx.claim.loc,
                ((coded.system, coded.code),),
                severity=severity,
                sources=sources,
            )
        elif edit.name in _CLAIM_LEVEL_FIELD:
            field = _CLAIM_LEVEL_FIELD[edit.name]
            yield Hit(f"{lead}: {text}", ctx.claim_loc(field), severity=severity, sources=sources)
        else:
            what = f" ({edit.code_type.lower()} code)" if edit.code_type not in ("", "NONE") else ""
            yield Hit(f"{lead}: a code on the claim{what} {text}", ctx.claim.loc, severity=severity, sources=sources)
