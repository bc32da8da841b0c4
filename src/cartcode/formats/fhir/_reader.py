"""FHIR R4 Claim and ExplanationOfBenefit (CARIN Blue Button), alone, in a Bundle or as NDJSON.

Each Claim/EOB resource is validated with fhir.resources' R4B model; what the model rejects
(Blue Button's test files carry placeholders such as ``"created": "IGNORED_FIELD"``) becomes a
located warning (rule ``FHIR-MODEL``), and the claim is still read. Extraction walks the JSON the
model was given (the same data, and it works whether or not the model accepted it), so one code
path serves valid and placeholder-laden resources alike. Locations are FHIR paths, e.g.
``ExplanationOfBenefit.item[0].productOrService.coding[0]``.

Code systems mapped (HL7, CARIN and CMS Blue Button addresses):
see :data:`PROCEDURE_SYSTEMS`, :data:`REVENUE_SYSTEMS`, :data:`DIAGNOSIS_SYSTEMS`,
:data:`PCS_SYSTEMS` and the NUBC condition/value/occurrence systems below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from cartcode._codeformat import hcpcs_system, is_well_formed, normalise
from cartcode.errors import InputError
from cartcode.findings import Fix
from cartcode.formats._limits import JsonProblem, current, empty_file, is_blank, number_in_range, parse_json
from cartcode.model import (
    Claim,
    ClaimError,
    ClaimKind,
    ClaimSource,
    Coded,
    Diagnosis,
    DiagnosisKind,
    InputNote,
    Line,
    Location,
    Note,
    OccurrenceCode,
    Procedure,
    ValueCode,
)

Item = Claim | ClaimError

CPT_SYSTEMS = ("http://www.ama-assn.org/go/cpt",)
HCPCS_SYSTEMS = (
    "https://bluebutton.cms.gov/resources/codesystem/hcpcs",
    "https://bluebutton.cms.gov/resources/variables/hcpcs_cd",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
)
PROCEDURE_SYSTEMS = CPT_SYSTEMS + HCPCS_SYSTEMS
REVENUE_SYSTEMS = (
    "https://www.nubc.org/CodeSystem/RevenueCodes",
    "http://www.nubc.org/CodeSystem/RevenueCodes",
    "https://bluebutton.cms.gov/resources/variables/rev_cntr",
)
DIAGNOSIS_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
PCS_SYSTEMS = (
    "http://www.cms.gov/Medicare/Coding/ICD10",
    "http://hl7.org/fhir/sid/icd-10-pcs",
    "https://www.cms.gov/Medicare/Coding/ICD10",
)
ICD10_AMBIGUOUS = "http://hl7.org/fhir/sid/icd-10"  # BFD uses it for both CM and PCS codes
NUBC = "https://www.nubc.org/CodeSystem/"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
BFD_EOB_TYPE = "https://bluebutton.cms.gov/resources/codesystem/eob-type"
_BFD_INSTITUTIONAL = ("INPATIENT", "OUTPATIENT", "SNF", "HOSPICE", "HHA")
_BFD_PROFESSIONAL = ("CARRIER", "DME")
_DX_KIND: dict[str, DiagnosisKind] = {
    "principal": "principal",
    "admitting": "admitting",
    "patientreasonforvisit": "reason",
    "externalcauseofinjury": "other",
    "other": "other",
    "secondary": "other",
}


def _codings(concept: Any) -> list[dict[str, Any]]:
    if isinstance(concept, dict) and isinstance(concept.get("coding"), list):
        return [c for c in concept["coding"] if isinstance(c, dict)]
    return []


def _date(text: Any) -> dt.date | None:
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    """A usable number: finite and in range (1e999 reads as infinity; see _limits)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        return None
    return out if number_in_range(out) else None


class _Reader:
    def __init__(self, file: str, index: int, resource: dict[str, Any], base: str) -> None:
        self.file = file
        self.index = index
        self.r = resource
        self.base = base  # "ExplanationOfBenefit" or "Bundle.entry[2].resource"
        self.notes: list[InputNote] = []
        self.locs: dict[str, Location] = {}
        self.patients: Mapping[str, tuple[dict[str, Any], str]] = {}  # Bundle Patients by reference

    def loc(self, path: str) -> Location:
        return Location(file=self.file, path=f"{self.base}.{path}" if path else self.base)

    def note(self, message: str, path: str, rule: str = "FHIR-CODE") -> None:
        loc = self.loc(path)
        self.notes.append(
            InputNote(rule=rule, severity="warning", message=f"{message} (at {loc.path})", loc=loc)
        )

    # -- the parts of a claim ---------------------------------------------------------------
    def kind(self) -> ClaimKind | None:
        for coding in _codings(self.r.get("type")):
            system, code = coding.get("system"), coding.get("code")
            if system == CLAIM_TYPE and code in ("institutional", "professional"):
                return code  # type: ignore[no-any-return]
        for coding in _codings(self.r.get("type")):
            if coding.get("system") == BFD_EOB_TYPE:
                if coding.get("code") in _BFD_INSTITUTIONAL:
                    return "institutional"
                if coding.get("code") in _BFD_PROFESSIONAL:
                    return "professional"
        return None

    def diagnoses(self) -> list[Diagnosis]:
        out: list[Diagnosis] = []
        for i, dx in enumerate(self.r.get("diagnosis") or []):
            if not isinstance(dx, dict):
                continue
            codings = _codings(dx.get("diagnosisCodeableConcept"))
            pick = next(((j, c) for j, c in enumerate(codings) if c.get("system") in DIAGNOSIS_SYSTEMS), None)
            if pick is None:
                continue
            j, coding = pick
            code = coding.get("code")
            if not isinstance(code, str) or not code:
                self.note("diagnosis without a code", f"diagnosis[{i}].diagnosisCodeableConcept")
                continue
            kinds = [c.get("code") for t in dx.get("type") or [] for c in _codings(t)]
            kind: DiagnosisKind = next((_DX_KIND[k] for k in kinds if k in _DX_KIND), "other")
            poa = next((c.get("code") for c in _codings(dx.get("onAdmission"))), None)
            for ext in dx.get("extension") or []:
                if isinstance(ext, dict) and "clm_poa_ind_sw" in str(ext.get("url")):
                    poa = (ext.get("valueCoding") or {}).get("code", poa)
            out.append(
                Diagnosis(
                    system="ICD-10-CM",
                    code=normalise("ICD-10-CM", code),
                    loc=self.loc(f"diagnosis[{i}].diagnosisCodeableConcept.coding[{j}]"),
                    kind=kind,
                    poa=poa,
                )
            )
        return out

    def procedures(self) -> list[Procedure]:
        out: list[Procedure] = []
        for i, px in enumerate(self.r.get("procedure") or []):
            if not isinstance(px, dict):
                continue
            codings = _codings(px.get("procedureCodeableConcept"))
            pick = next(((j, c) for j, c in enumerate(codings) if c.get("system") in PCS_SYSTEMS), None)
            if pick is None:
                pick = next(
                    (
                        (j, c)
                        for j, c in enumerate(codings)
                        if c.get("system") == ICD10_AMBIGUOUS and is_well_formed("ICD-10-PCS", str(c.get("code")))
                    ),
                    None,
                )
            if pick is None:
                continue
            j, coding = pick
            code = str(coding.get("code") or "")
            types = [c.get("code") for t in px.get("type") or [] for c in _codings(t)]
            principal = any(t in ("principal", "primary") for t in types) or (not types and px.get("sequence") == 1)
            out.append(
                Procedure(
                    system="ICD-10-PCS",
                    code=normalise("ICD-10-PCS", code),
                    loc=self.loc(f"procedure[{i}].procedureCodeableConcept.coding[{j}]"),
                    date=_date(px.get("date")),
                    principal=principal,
                )
            )
        return out

    def supporting(self, kw: dict[str, Any]) -> tuple[list[Coded], list[ValueCode], list[OccurrenceCode], list[Note]]:
        conditions: list[Coded] = []
        values: list[ValueCode] = []
        occurrences: list[OccurrenceCode] = []
        notes: list[Note] = []
        freq = fac = cls = None
        for i, si in enumerate(self.r.get("supportingInfo") or []):
            if not isinstance(si, dict):
                continue
            cats = [str(c.get("code")) for c in _codings(si.get("category"))]
            codes = _codings(si.get("code"))
            first = codes[0] if codes else {}
            code = first.get("code")
            system = str(first.get("system") or "")
            path = f"supportingInfo[{i}]"
            if "admissionperiod" in cats:
                period = si.get("timingPeriod") or {}
                if _date(period.get("start")):
                    kw["admission_date"] = _date(period.get("start"))
                    self.locs["admission_date"] = self.loc(f"{path}.timingPeriod.start")
                if _date(period.get("end")):
                    kw["discharge_date"] = _date(period.get("end"))
                    self.locs["discharge_date"] = self.loc(f"{path}.timingPeriod.end")
            elif "typeofbill" in cats and isinstance(code, str):
                if system.endswith("TypeOfBill") or len(code) >= 3:
                    kw["type_of_bill"] = code[1:] if len(code) == 4 and code.startswith("0") else code
                    self.locs["type_of_bill"] = self.loc(f"{path}.code.coding[0]")
                else:
                    freq = code  # Blue Button: frequency only (clm_freq_cd)
            elif "discharge-status" in cats and isinstance(code, str):
                kw["patient_status"] = code
            elif "admtype" in cats and isinstance(code, str):
                kw["admission_type"] = code
            elif "pointoforigin" in cats and isinstance(code, str):
                kw["admission_source"] = code
            elif ("drg" in cats or system.endswith("clm_drg_cd")) and isinstance(code, str):
                kw["drg"] = Coded(
                    system="MS-DRG", code=normalise("MS-DRG", code), loc=self.loc(f"{path}.code")
                )
            elif system.startswith(NUBC + "ConditionCodes") or "conditioncode" in cats:
                conditions.append(
                    Coded(
                        system="condition", code=normalise("condition", str(code)), loc=self.loc(f"{path}.code")
                    )
                )
            elif system.startswith(NUBC + "ValueCodes") or "valuecode" in cats:
                amount = si.get("valueString")
                if amount is None and isinstance(si.get("valueQuantity"), dict):
                    amount = str(si["valueQuantity"].get("value"))
                values.append(
                    ValueCode(
                        system="value",
                        code=normalise("value", str(code)),
                        loc=self.loc(f"{path}.code"),
                        amount=amount,
                    )
                )
            elif system.startswith(NUBC + "OccurrenceCodes") or "occurrencecode" in cats:
                occurrences.append(
                    OccurrenceCode(
                        system="occurrence",
                        code=normalise("occurrence", str(code)),
                        loc=self.loc(f"{path}.code"),
                        date=_date(si.get("timingDate")),
                    )
                )
            elif isinstance(si.get("valueString"), str) and ({"info", "remarks", "note"} & set(cats)):
                notes.append(
                    Note(text=si["valueString"], reference=None, loc=self.loc(f"{path}.valueString"))
                )
        # Blue Button spreads the type of bill over facility type, service classification and frequency
        facility = self.r.get("facility")
        for ext in facility.get("extension") or [] if isinstance(facility, dict) else []:
            if isinstance(ext, dict) and str(ext.get("url")).endswith("clm_fac_type_cd"):
                fac = (ext.get("valueCoding") or {}).get("code")
        for ext in self.r.get("extension") or []:
            if isinstance(ext, dict) and str(ext.get("url")).endswith("clm_srvc_clsfctn_type_cd"):
                cls = (ext.get("valueCoding") or {}).get("code")
        if "type_of_bill" not in kw and fac and cls and freq:
            kw["type_of_bill"] = f"{fac}{cls}{freq}"
            self.locs["type_of_bill"] = self.loc("facility.extension")
        return conditions, values, occurrences, notes

    def lines(self, kind: ClaimKind) -> list[Line]:
        out: list[Line] = []
        for i, item in enumerate(self.r.get("item") or []):
            if not isinstance(item, dict):
                continue
            p = f"item[{i}]"
            kw: dict[str, Any] = {"number": len(out) + 1, "loc": self.loc(p)}
            locs: dict[str, Location] = {}
            revs = [(j, c) for j, c in enumerate(_codings(item.get("revenue"))) if c.get("system") in REVENUE_SYSTEMS]
            if revs:
                j, rev = next(
                    ((j, c) for j, c in revs if is_well_formed("revenue", normalise("revenue", str(c.get("code"))))),
                    revs[0],
                )
                code = normalise("revenue", str(rev.get("code") or ""))
                if not is_well_formed("revenue", code):
                    self.note(f"revenue code {code!r} is not a 4-digit NUBC revenue code", f"{p}.revenue.coding[{j}]")
                kw["revenue_code"] = Coded(
                    system="revenue", code=code, loc=self.loc(f"{p}.revenue.coding[{j}]")
                )
            prods = _codings(item.get("productOrService"))
            pick = next(((j, c) for j, c in enumerate(prods) if c.get("system") in PROCEDURE_SYSTEMS), None)
            if pick is not None:
                j, coding = pick
                code = str(coding.get("code") or "").upper()
                system = "CPT" if coding.get("system") in CPT_SYSTEMS else hcpcs_system(code)
                kw["procedure"] = Coded(
                    system=system, code=code, loc=self.loc(f"{p}.productOrService.coding[{j}]")
                )
            mods = []
            for m, mod in enumerate(item.get("modifier") or []):
                codings = _codings(mod)
                if codings and codings[0].get("code"):
                    mods.append(
                        Coded(
                            system="modifier",
                            code=str(codings[0]["code"]).upper(),
                            loc=self.loc(f"{p}.modifier[{m}].coding[0]"),
                        )
                    )
            kw["modifiers"] = mods
            quantity = item.get("quantity")
            if isinstance(quantity, dict) and _decimal(quantity.get("value")) is not None:
                kw["units"] = _decimal(quantity.get("value"))
                locs["units"] = self.loc(f"{p}.quantity.value")
            elif isinstance(quantity, dict) and quantity.get("value") is not None:
                self.note("quantity is not a usable number (out of range or not a number): not read",
                          f"{p}.quantity.value")
            charge = self._charge(item, p, locs)
            if charge is not None:
                kw["charge"] = charge
            date = _date(item.get("servicedDate")) or _date((item.get("servicedPeriod") or {}).get("start"))
            if date is not None:
                kw["date"] = date
                locs["date"] = self.loc(
                    f"{p}.servicedDate" if item.get("servicedDate") else f"{p}.servicedPeriod.start"
                )
            for ext in (item.get("productOrService") or {}).get("extension") or []:
                if isinstance(ext, dict) and str(ext.get("url")).endswith("/ndc"):
                    kw["ndc"] = (ext.get("valueCoding") or {}).get("code")
                    locs["ndc"] = self.loc(f"{p}.productOrService.extension")
            pos = _codings(item.get("locationCodeableConcept"))
            if pos and pos[0].get("code"):
                kw["place_of_service"] = str(pos[0]["code"])
                locs["place_of_service"] = self.loc(f"{p}.locationCodeableConcept.coding[0]")
            pointers = item.get("diagnosisSequence") or item.get("diagnosisLinkId") or []
            kw["diagnosis_pointers"] = [n for n in pointers if isinstance(n, int) and not isinstance(n, bool)]
            kw["locs"] = locs
            out.append(Line(**kw))
        return out

    def _charge(self, item: dict[str, Any], p: str, locs: dict[str, Location]) -> Decimal | None:
        net = item.get("net")
        if isinstance(net, dict) and _decimal(net.get("value")) is not None:
            locs["charge"] = self.loc(f"{p}.net.value")
            return _decimal(net.get("value"))
        best: tuple[int, Decimal, str] | None = None
        for a, adj in enumerate(item.get("adjudication") or []):
            if not isinstance(adj, dict):
                continue
            codes = [str(c.get("code")) for c in _codings(adj.get("category"))]
            amount = _decimal((adj.get("amount") or {}).get("value"))
            if amount is None or "submitted" not in codes:
                continue
            rank = 0 if any(c.endswith("tot_chrg_amt") for c in codes) else 1
            if best is None or rank < best[0]:
                best = (rank, amount, f"{p}.adjudication[{a}].amount.value")
        if best is None:
            return None
        locs["charge"] = self.loc(best[2])
        return best[1]

    def total(self) -> Decimal | None:
        total = self.r.get("total")
        if isinstance(total, dict):  # Claim.total is Money
            return _decimal(total.get("value"))
        for t, entry in enumerate(total or []):
            if isinstance(entry, dict) and "submitted" in [c.get("code") for c in _codings(entry.get("category"))]:
                self.locs["total_charge"] = self.loc(f"total[{t}].amount.value")
                return _decimal((entry.get("amount") or {}).get("value"))
        return None

    def payer(self, kw: dict[str, Any]) -> None:
        insurer = self.r.get("insurer") or {}
        names = " ".join(
            str(x) for x in (insurer.get("display"), (insurer.get("identifier") or {}).get("value")) if x is not None
        )
        coverage = " ".join(
            str((ins.get("coverage") or {}).get("reference") or (ins.get("coverage") or {}).get("display") or "")
            for ins in self.r.get("insurance") or []
            if isinstance(ins, dict)
        ).lower()
        if "medicare advantage" in names.lower():
            kw["payer"] = "medicare-advantage"
        elif names.strip() == "CMS" or "medicare" in names.lower():
            kw["payer"] = "medicare"
            if "part-a" in coverage:
                kw["medicare_part"] = "A"
            elif "part-b" in coverage:
                kw["medicare_part"] = "B"
        elif "medicaid" in names.lower():
            kw["payer"] = "medicaid"
        elif names:
            kw["payer"] = "commercial"
        if "payer" in kw:
            self.locs["payer"] = self.loc("insurer")

    def patient(self, kw: dict[str, Any]) -> None:
        """Sex and birth date from the Patient that Claim.patient / EOB.patient references: a contained
        one (``#id``) or one in the same Bundle (fullUrl or ``Patient/id``). PHI: the birth date only
        serves the age; a bad one is left out without being quoted."""
        ref = self.r.get("patient")
        target = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(target, str) or not target:
            return
        found: tuple[dict[str, Any], str] | None = None
        if target.startswith("#"):
            for i, res in enumerate(self.r.get("contained") or []):
                if isinstance(res, dict) and res.get("resourceType") == "Patient" and res.get("id") == target[1:]:
                    found = (res, f"{self.base}.contained[{i}]")
                    break
        else:
            found = self.patients.get(target)
        if found is None:
            return
        res, path = found
        gender = res.get("gender")
        if isinstance(gender, str) and gender:
            kw["sex"] = {"male": "M", "female": "F"}.get(gender.lower(), "U")
            self.locs["sex"] = Location(file=self.file, path=f"{path}.gender")
        born = res.get("birthDate")
        if isinstance(born, str) and len(born) == 10:
            day = _date(born)
            if day is not None:
                kw["birth_date"] = day
                self.locs["birth_date"] = Location(file=self.file, path=f"{path}.birthDate")

    def claim(self) -> Claim | ClaimError:
        claim_id = self.r.get("id")
        if not isinstance(claim_id, str) or not claim_id:
            idents = [i.get("value") for i in self.r.get("identifier") or [] if isinstance(i, dict)]
            claim_id = next((str(v) for v in idents if v), None)
        source = ClaimSource(file=self.file, index=self.index)
        if claim_id is None:
            return ClaimError(
                id=None, source=source, error=f"{self.base} has no id or identifier", location=self.loc("")
            )
        kind = self.kind()
        if kind is None:
            return ClaimError(
                id=claim_id,
                source=source,
                error=f"{self.base}.type is not an institutional or professional claim type",
                location=self.loc("type"),
            )
        kw: dict[str, Any] = {}
        period = self.r.get("billablePeriod") or {}
        if isinstance(period, dict):
            if _date(period.get("start")):
                kw["statement_from"] = _date(period.get("start"))
                self.locs["statement_from"] = self.loc("billablePeriod.start")
            if _date(period.get("end")):
                kw["statement_to"] = _date(period.get("end"))
                self.locs["statement_to"] = self.loc("billablePeriod.end")
        conditions, values, occurrences, notes = self.supporting(kw)
        lines = self.lines(kind)
        if kind == "professional":
            kw.pop("type_of_bill", None)
            pos = next((ln.place_of_service for ln in lines if ln.place_of_service), None)
            if pos is not None:
                kw["place_of_service"] = pos
        elif kw.get("type_of_bill", "").startswith("11") and "discharge_date" not in kw and kw.get("statement_to"):
            # as for 837I: an inpatient claim's through date is its discharge date when none is given
            kw["discharge_date"] = kw["statement_to"]
        self.payer(kw)
        self.patient(kw)
        total = self.total()
        if total is not None:
            kw["total_charge"] = total
        return Claim(
            id=claim_id,
            kind=kind,
            format="fhir",
            source=source,
            diagnoses=self.diagnoses(),
            procedures=self.procedures(),
            condition_codes=conditions,
            value_codes=values,
            occurrence_codes=occurrences,
            notes=notes,
            lines=lines,
            input_notes=self.notes,
            loc=self.loc(""),
            locs=self.locs,
            **kw,
        )


def _validate(resource: dict[str, Any], base: str, file: str) -> list[InputNote]:
    """What fhir.resources' R4B model rejects, as located warnings (the claim is read anyway)."""
    from fhir.resources.R4B.claim import Claim as FhirClaim
    from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
    from pydantic import ValidationError

    model = FhirClaim if resource.get("resourceType") == "Claim" else ExplanationOfBenefit
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        notes = []
        for err in exc.errors()[:20]:
            path = base + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            # PHI: the rejected value is never quoted (a contained Patient's name, a member id, a
            # birth date); nor is a model message that repeats it
            value = err.get("input")
            reason = str(err["msg"])
            if isinstance(value, str | int | float | Decimal) and str(value) and str(value) in reason:
                reason = str(err["type"])
            notes.append(
                InputNote(
                    rule="FHIR-MODEL",
                    severity="warning",
                    message=f"{path}: rejected by the FHIR R4B model ({reason}); read as plain JSON",
                    loc=Location(file=file, path=path),
                )
            )
        return notes
    except Exception as exc:  # the model library itself failing must not stop the check
        return [
            InputNote(
                rule="FHIR-MODEL",
                severity="info",
                message=f"{base}: FHIR model validation unavailable ({type(exc).__name__})",
                loc=Location(file=file, path=base),
            )
        ]
    return []


def _resources(doc: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """(resource, FHIR path) of every Claim/EOB: a single resource, a Bundle's entries, a list."""
    for res, path, _ in _entries(doc):
        if res is not None:
            yield res, path


_CLAIM_TYPES = ("Claim", "ExplanationOfBenefit")


def _rtype(value: Any) -> str:
    """A resourceType for a message: a short name as is, anything else by its kind (never a value)."""
    if isinstance(value, str) and 0 < len(value) <= 40 and value.isalnum():
        return repr(value)
    return "missing" if value is None else f"not a resource type name ({type(value).__name__})"


def _entries(doc: Any, top: bool = True) -> Iterator[tuple[dict[str, Any] | None, str, str | None]]:
    """(resource, FHIR path, None) for every Claim/EOB, and (None, path, problem) for every entry
    that is not a FHIR resource at all (a Bundle entry that is a string, a resourceType that is a
    number...), in document order. Other resources (Patient, Coverage) are passed over."""
    if isinstance(doc, list):
        for i, element in enumerate(doc):
            if not isinstance(element, dict) or not isinstance(element.get("resourceType"), str):
                yield None, f"[{i}]", f"[{i}] is not a FHIR resource (resourceType {_rtype(_get(element))})"
                continue
            for res, path, problem in _entries(element, top=False):
                yield res, f"[{i}].{path}" if not path.startswith("Bundle") else path, problem
        return
    if not isinstance(doc, dict):
        return
    rtype = doc.get("resourceType")
    if rtype in _CLAIM_TYPES:
        yield doc, str(rtype), None
    elif rtype == "Bundle":
        entries = doc.get("entry")
        if entries is None:
            return
        if not isinstance(entries, list):
            yield None, "Bundle.entry", "Bundle.entry is not a list of entries"
            return
        for i, entry in enumerate(entries):
            found = entry.get("resource") if isinstance(entry, dict) else None
            where = f"Bundle.entry[{i}]"
            if not isinstance(entry, dict):
                yield None, where, f"{where} is not an object"
            elif not isinstance(found, dict):
                yield None, f"{where}.resource", f"{where}.resource is missing or not an object"
            elif not isinstance(found.get("resourceType"), str):
                yield None, f"{where}.resource", (
                    f"{where}.resource is not a FHIR resource (resourceType {_rtype(found.get('resourceType'))})"
                )
            elif found.get("resourceType") in _CLAIM_TYPES:
                yield found, f"{where}.resource", None
            elif found.get("resourceType") == "Bundle":
                for inner, path, problem in _entries(found, top=False):
                    inner_path = f"{where}.resource.{path.removeprefix('Bundle.')}"
                    yield inner, inner_path, problem and problem.replace(path, inner_path, 1)
    elif top and not isinstance(rtype, str):
        yield None, "resourceType", f"resourceType {_rtype(rtype)} is not a FHIR resource type"


def _get(element: Any) -> Any:
    return element.get("resourceType") if isinstance(element, dict) else None


def _bundle_patients(doc: Any, path: str = "Bundle") -> dict[str, tuple[dict[str, Any], str]]:
    """The Patient resources of a Bundle (and of Bundles inside it), keyed by every reference that may
    name them: their fullUrl and ``Patient/<id>``."""
    out: dict[str, tuple[dict[str, Any], str]] = {}
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        return out
    for i, entry in enumerate(doc.get("entry") or []):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            continue
        where = f"{path}.entry[{i}].resource"
        if res.get("resourceType") == "Patient":
            full = entry.get("fullUrl")
            if isinstance(full, str) and full:
                out[full] = (res, where)
            if isinstance(res.get("id"), str):
                out[f"Patient/{res['id']}"] = (res, where)
        elif res.get("resourceType") == "Bundle":
            out.update(_bundle_patients(res, where))
    return out


def _documents(data: bytes, file: str) -> Iterator[tuple[Any, str | None, int]]:
    """(parsed JSON, error, line) per document: the file as one JSON, or NDJSON line by line.

    Within the limits (:mod:`cartcode.formats._limits`): nesting depth, NDJSON line length, and
    numbers too long for Python's int (read as Decimal, then refused where a number is used)."""
    try:
        yield parse_json(data), None, 1
        return
    except JsonProblem as exc:
        first_error = str(exc)
    lines = data.splitlines()
    if len(lines) > 1 and all(not ln.strip() or ln.lstrip()[:1] == b"{" for ln in lines):
        longest = current().max_ndjson_line_bytes
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            if len(raw) > longest:
                yield None, f"line {n} is longer than the NDJSON line limit ({longest} bytes)", n
                continue
            try:
                yield parse_json(raw), None, n
            except JsonProblem as exc:
                yield None, f"line {n} is not JSON: {exc}", n
        return
    yield None, f"not JSON: {first_error}", 1


def read(data: bytes, file: str, *, validate: bool = True) -> Iterator[Item]:
    """Every Claim/EOB in `data` in order; `validate=False` skips the R4B model pass (batch).

    An entry that is no FHIR resource at all (a Bundle entry that is a string) is a failed entry in
    its place; a file that holds no Claim or ExplanationOfBenefit at all (a Patient, an empty
    Bundle, an empty file) is an InputError: nothing was checked, which must not pass."""
    if is_blank(data):
        raise empty_file(file)
    index = 0
    # entries that are not resources wait until the file is known to hold a claim (else: InputError)
    waiting: list[tuple[str, str, int | None]] = []
    started = False
    other_types: list[str] = []
    for doc, error, line in _documents(data, file):
        if error is not None:
            for earlier, path, at_line in waiting:
                yield _bad_entry(file, index, earlier, path, at_line)
                index += 1
            waiting = []
            started = True
            yield ClaimError(
                id=None,
                source=ClaimSource(file=file, index=index),
                error=f"{file}: {error}",
                location=Location(file=file, line=line),
            )
            index += 1
            continue
        if isinstance(doc, dict) and isinstance(doc.get("resourceType"), str) and doc["resourceType"] not in (
            *_CLAIM_TYPES, "Bundle",
        ):
            other_types.append(_rtype(doc["resourceType"]))
        patients = _bundle_patients(doc)
        for resource, base, problem in _entries(doc):
            if resource is None:
                if started:
                    yield _bad_entry(file, index, problem or "", base, line if line > 1 else None)
                    index += 1
                else:
                    waiting.append((problem or "", base, line if line > 1 else None))
                continue
            if not started:
                started = True
                for prob, path, at_line in waiting:
                    yield _bad_entry(file, index, prob, path, at_line)
                    index += 1
                waiting = []
            reader = _Reader(file, index, resource, base)
            reader.patients = patients
            if validate:
                reader.notes.extend(_validate(resource, base, file))
            try:
                yield reader.claim()
            except (TypeError, AttributeError, ValueError) as exc:  # a shape the walk did not expect
                # the exception's text is not shown: it may quote a value of the claim
                yield ClaimError(
                    id=str(resource.get("id")) if resource.get("id") else None,
                    source=ClaimSource(file=file, index=index),
                    error=f"{base}: could not be read ({type(exc).__name__})",
                    location=Location(file=file, path=base),
                )
            index += 1
    if not started:
        if waiting:
            first, _, at_line = waiting[0]
            where = f" (line {at_line})" if at_line else ""
            raise InputError(f"no Claim or ExplanationOfBenefit in this FHIR file: {first}{where}", where=file)
        found = f" (it holds {', '.join(sorted(set(other_types))[:3])})" if other_types else ""
        raise InputError(f"no Claim or ExplanationOfBenefit in this FHIR file{found}", where=file)


def _bad_entry(file: str, index: int, problem: str, path: str, line: int | None) -> ClaimError:
    return ClaimError(
        id=None,
        source=ClaimSource(file=file, index=index),
        error=f"{file}: {problem}" + (f" (line {line})" if line else ""),
        location=Location(file=file, path=path, line=line),
    )


def apply_fixes(data: bytes, file: str, fixes: Mapping[int, Sequence[Fix]]) -> bytes:
    """The FHIR JSON with `fixes` applied (see :mod:`cartcode.formats.fhir._writer`)."""
    if not any(fixes.values()):
        return data
    from cartcode.formats.fhir._writer import apply_fixes as _apply

    return _apply(data, file, fixes)
