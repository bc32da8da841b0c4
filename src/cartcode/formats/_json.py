"""Our own JSON claim format (schema: cartcode/schemas/claim.schema.json).

A file holds one claim object, ``{"claims": [...]}``, or a bare list of claims. Every value keeps
its JSON path (``$.claims[0].lines[1].code``) so findings point at it. A claim that breaks the
format fails alone (a :class:`ClaimError` naming the JSON path); the others are still read. Only
a file that is not JSON at all is an :class:`~cartcode.errors.InputError`.

The reader validates by hand, value by value, and builds the models from checked values.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from cartcode._codeformat import hcpcs_system, normalise
from cartcode.errors import InputError
from cartcode.findings import Fix
from cartcode.formats._limits import (
    JsonProblem,
    current,
    empty_file,
    is_blank,
    number_in_range,
    parse_json,
    safe_int,
)
from cartcode.model import (
    Claim,
    ClaimError,
    ClaimSource,
    Coded,
    Diagnosis,
    Line,
    Location,
    Note,
    OccurrenceCode,
    Procedure,
    ValueCode,
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KINDS = ("institutional", "professional")
_PAYERS = ("medicare", "medicare-advantage", "medicaid", "commercial", "other")
_FORMS = ("electronic", "paper")
_DX_KINDS = ("principal", "admitting", "reason", "other")

# claim-level scalar fields: each keeps its JSON path in Claim.locs
SCALAR_KEYS = (
    "id",
    "kind",
    "type_of_bill",
    "place_of_service",
    "claim_form",
    "payer",
    "filing_indicator",
    "medicare_part",
    "statement_from",
    "statement_to",
    "admission_date",
    "discharge_date",
    "total_charge",
)
CLAIM_KEYS = frozenset(
    {
        *SCALAR_KEYS,
        "diagnoses",
        "procedures",
        "condition_codes",
        "value_codes",
        "occurrence_codes",
        "notes",
        "lines",
        "drg",
        "admission_type",
        "admission_source",
        "patient_status",
        "sex",
        "birth_date",
        "comment",
    }
)
_SEXES = ("M", "F", "U")
LINE_KEYS = frozenset(
    {
        "revenue_code",
        "code",
        "system",
        "modifiers",
        "units",
        "charge",
        "date",
        "ndc",
        "place_of_service",
        "diagnosis_pointers",
        "notes",
        "comment",
    }
)
# claim-level list fields: JSON key -> code system
LIST_SYSTEMS = {
    "diagnoses": "ICD-10-CM",
    "procedures": "ICD-10-PCS",
    "condition_codes": "condition",
    "value_codes": "value",
    "occurrence_codes": "occurrence",
}


class _Bad(Exception):
    """A format problem inside one claim: message plus the JSON path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def _kind_of(value: Any) -> str:
    """What a rejected value is, never the value itself (claims hold PHI)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else "text"
    return "a list" if isinstance(value, list) else "an object"


def _shown(value: Any) -> str:
    """A rejected qualifier (kind, payer, ...): quoted when it is a short code-like word, else its kind."""
    if isinstance(value, str) and len(value) <= 20 and value.replace("-", "").replace("_", "").isalnum():
        return json.dumps(value)
    return _kind_of(value)


def _loc(file: str, path: str) -> Location:
    return Location(file=file, path=path)


def _str(value: Any, path: str, *, allow_int: bool = False) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Bad(path, f"expected a non-empty string, got {_kind_of(value)}")


def _opt_str(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    return None if value is None else _str(value, f"{path}.{key}", allow_int=True)


def _enum(obj: Mapping[str, Any], key: str, path: str, allowed: Sequence[str]) -> Any:
    """The value when it is one of `allowed` (typed Any: the callers' Literal fields check it)."""
    value = obj.get(key)
    if value is None:
        return None
    if value not in allowed:
        raise _Bad(f"{path}.{key}", f"expected one of {', '.join(allowed)}, got {_shown(value)}")
    return str(value)


def _date(obj: Mapping[str, Any], key: str, path: str) -> dt.date | None:
    value = obj.get(key)
    if value is None:
        return None
    where = f"{path}.{key}"
    if not isinstance(value, str) or not _DATE.match(value):
        raise _Bad(where, f"expected a date YYYY-MM-DD, got {_kind_of(value)}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise _Bad(where, "not a real date") from exc


def _birth_date(obj: Mapping[str, Any], path: str) -> dt.date | None:
    """The patient's birth date. PHI: an error names the path, never the value."""
    value = obj.get("birth_date")
    if value is None:
        return None
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _Bad(f"{path}.birth_date", "expected a date YYYY-MM-DD (value not shown: it is patient data)")


def _number(obj: Mapping[str, Any], key: str, path: str) -> Decimal | None:
    value = obj.get(key)
    if value is None:
        return None
    where = f"{path}.{key}"
    if isinstance(value, bool):
        raise _Bad(where, "expected a number, got a boolean")
    number: Decimal | None = None
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except InvalidOperation as exc:
            raise _Bad(where, "expected a number, got text that is not one") from exc
    if number is not None and number.is_finite():
        if not number_in_range(number):
            raise _Bad(where, f"number out of range (at most {current().max_number_digits} digits before the point)")
        return number
    raise _Bad(where, f"expected a number, got {_kind_of(value)}")


def _amount(value: Any, path: str) -> str | None:
    """A value code amount: money or text such as the NCT number; blank is no amount."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    return _str(value, path)


def _list(obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(f"{path}.{key}", "expected a list")
    return value


def _keys(obj: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in obj:
        if key not in allowed and not key.startswith("x-"):
            raise _Bad(f"{path}.{key}", "unknown field (a typo? extension fields start with 'x-')")


def _code_entries(
    obj: Mapping[str, Any], key: str, base: str, allowed: frozenset[str],
) -> Iterator[tuple[int, str, str, dict[str, Any], str]]:
    """(index, path, code text, the object or {}, the path of the code) for each entry of the code list
    `key`, an object entry holding only `allowed` fields (and extensions)."""
    for i, item in enumerate(_list(obj, key, base)):
        p = f"{base}.{key}[{i}]"
        text, extra, cp = _code_entry(item, p)
        if extra:
            _keys(extra, allowed, p)
        yield i, p, text, extra, cp


def _code_entry(item: Any, path: str) -> tuple[str, dict[str, Any], str]:
    """(code text, the object or {}, the path of the code) for a list entry: "X" or {"code": "X", ...}."""
    if isinstance(item, dict):
        return _str(item.get("code"), f"{path}.code", allow_int=True), item, f"{path}.code"
    return _str(item, path, allow_int=True), {}, path


def _notes(items: list[Any], path: str, file: str) -> list[Note]:
    out: list[Note] = []
    for i, item in enumerate(items):
        p = f"{path}[{i}]"
        if isinstance(item, dict):
            _keys(item, frozenset({"text", "reference"}), p)
            text = _str(item.get("text"), f"{p}.text")
            reference = _opt_str(item, "reference", p)
            out.append(Note(text=text, reference=reference, loc=_loc(file, f"{p}.text")))
        else:
            out.append(Note(text=_str(item, p), reference=None, loc=_loc(file, p)))
    return out


def _line(obj: Any, number: int, path: str, file: str) -> Line:
    if not isinstance(obj, dict):
        raise _Bad(path, "a line must be an object")
    _keys(obj, LINE_KEYS, path)
    revenue = None
    if obj.get("revenue_code") is not None:
        text = _str(obj["revenue_code"], f"{path}.revenue_code", allow_int=True)
        revenue = Coded(
            system="revenue",
            code=normalise("revenue", text.zfill(4) if text.isdigit() else text),
            loc=_loc(file, f"{path}.revenue_code"),
        )
    procedure = None
    if obj.get("code") is not None:
        text = normalise("CPT", _str(obj["code"], f"{path}.code", allow_int=True))
        system = obj.get("system") or hcpcs_system(text)
        if system not in ("CPT", "HCPCS"):
            raise _Bad(f"{path}.system", f"expected CPT or HCPCS, got {json.dumps(system)}")
        procedure = Coded(system=system, code=text, loc=_loc(file, f"{path}.code"))
    modifiers = []
    for i, item in enumerate(_list(obj, "modifiers", path)):
        text, _, p = _code_entry(item, f"{path}.modifiers[{i}]")
        modifiers.append(Coded(system="modifier", code=normalise("modifier", text), loc=_loc(file, p)))
    pointers = []
    for i, item in enumerate(_list(obj, "diagnosis_pointers", path)):
        if not isinstance(item, int) or isinstance(item, bool) or item < 1:
            raise _Bad(f"{path}.diagnosis_pointers[{i}]", "expected a positive whole number")
        pointers.append(item)
    locs = {key: _loc(file, f"{path}.{key}") for key in ("units", "charge", "date", "ndc") if key in obj}
    return Line(
        number=number,
        revenue_code=revenue,
        procedure=procedure,
        modifiers=modifiers,
        units=_number(obj, "units", path),
        charge=_number(obj, "charge", path),
        date=_date(obj, "date", path),
        ndc=_opt_str(obj, "ndc", path),
        place_of_service=_opt_str(obj, "place_of_service", path),
        diagnosis_pointers=pointers,
        notes=_notes(_list(obj, "notes", path), f"{path}.notes", file),
        loc=_loc(file, path),
        locs=locs,
    )


def _claim(obj: Any, index: int, base: str, file: str) -> Claim:
    if not isinstance(obj, dict):
        raise _Bad(base, "a claim must be an object")
    _keys(obj, CLAIM_KEYS, base)
    kind = _enum(obj, "kind", base, _KINDS)
    if kind is None:
        raise _Bad(f"{base}.kind", "missing: institutional or professional")
    claim_id = _opt_str(obj, "id", base) or f"#{index + 1}"
    tob = _opt_str(obj, "type_of_bill", base)
    if tob is not None:
        if not tob.isdigit() or len(tob.lstrip("0")) != 3 or len(tob) > 4:
            raise _Bad(f"{base}.type_of_bill", f"expected 3 digits such as 111 or 0131, got {tob!r}")
        tob = tob.lstrip("0")
    diagnoses = []
    for i, p, text, extra, cp in _code_entries(obj, "diagnoses", base, frozenset({"code", "kind", "poa"})):
        dx_kind: Any = _enum(extra, "kind", p, _DX_KINDS) or ("principal" if i == 0 else "other")
        diagnoses.append(
            Diagnosis(
                system="ICD-10-CM",
                code=normalise("ICD-10-CM", text),
                loc=_loc(file, cp),
                kind=dx_kind,
                poa=_opt_str(extra, "poa", p),
            )
        )
    procedures = []
    for i, p, text, extra, cp in _code_entries(obj, "procedures", base, frozenset({"code", "date", "principal"})):
        principal = extra.get("principal", i == 0)
        if not isinstance(principal, bool):
            raise _Bad(f"{p}.principal", "expected true or false")
        procedures.append(
            Procedure(
                system="ICD-10-PCS",
                code=normalise("ICD-10-PCS", text),
                loc=_loc(file, cp),
                date=_date(extra, "date", p),
                principal=principal,
            )
        )
    conditions = []
    for _, _, text, _, cp in _code_entries(obj, "condition_codes", base, frozenset({"code"})):
        conditions.append(Coded(system="condition", code=normalise("condition", text), loc=_loc(file, cp)))
    values = []
    for _, p, text, extra, cp in _code_entries(obj, "value_codes", base, frozenset({"code", "amount"})):
        values.append(
            ValueCode(
                system="value",
                code=normalise("value", text),
                loc=_loc(file, cp),
                amount=_amount(extra.get("amount"), f"{p}.amount"),
            )
        )
    occurrences = []
    for _, p, text, extra, cp in _code_entries(obj, "occurrence_codes", base, frozenset({"code", "date"})):
        occurrences.append(
            OccurrenceCode(
                system="occurrence",
                code=normalise("occurrence", text),
                loc=_loc(file, cp),
                date=_date(extra, "date", p),
            )
        )
    drg = None
    if obj.get("drg") is not None:
        drg = Coded(
            system="MS-DRG",
            code=normalise("MS-DRG", _str(obj["drg"], f"{base}.drg", allow_int=True)),
            loc=_loc(file, f"{base}.drg"),
        )
    lines = [_line(item, i + 1, f"{base}.lines[{i}]", file) for i, item in enumerate(_list(obj, "lines", base))]
    located = (*SCALAR_KEYS, "patient_status", "sex", "birth_date")
    locs = {key: _loc(file, f"{base}.{key}") for key in located if key in obj}
    sex = _enum(obj, "sex", base, _SEXES)
    return Claim(
        id=claim_id,
        kind=kind,
        format="json",
        source=ClaimSource(file=file, index=index),
        claim_form=_enum(obj, "claim_form", base, _FORMS) or "electronic",
        type_of_bill=tob,
        place_of_service=_opt_str(obj, "place_of_service", base),
        statement_from=_date(obj, "statement_from", base),
        statement_to=_date(obj, "statement_to", base),
        admission_date=_date(obj, "admission_date", base),
        discharge_date=_date(obj, "discharge_date", base),
        payer=_enum(obj, "payer", base, _PAYERS),
        filing_indicator=_opt_str(obj, "filing_indicator", base),
        medicare_part=_enum(obj, "medicare_part", base, ("A", "B")),
        total_charge=_number(obj, "total_charge", base),
        diagnoses=diagnoses,
        procedures=procedures,
        condition_codes=conditions,
        value_codes=values,
        occurrence_codes=occurrences,
        notes=_notes(_list(obj, "notes", base), f"{base}.notes", file),
        lines=lines,
        drg=drg,
        admission_type=_opt_str(obj, "admission_type", base),
        admission_source=_opt_str(obj, "admission_source", base),
        patient_status=_opt_str(obj, "patient_status", base),
        sex=sex,
        birth_date=_birth_date(obj, base),
        input_notes=[],
        loc=_loc(file, base),
        locs=locs,
    )


def _parse(data: bytes, file: str, *, exact: bool) -> Any:
    """The document (within the limits: depth, numbers); an empty or unreadable file is an InputError."""
    if is_blank(data):
        raise empty_file(file)
    try:
        return parse_json(data, parse_float=Decimal if exact else None)
    except JsonProblem as exc:
        raise InputError(str(exc), where=file) from None


def _claim_list(doc: Any, file: str) -> tuple[list[Any], str]:
    """The claim objects of a document and the JSON path prefix of the list ("" = a single claim)."""
    if isinstance(doc, list):
        return doc, "$"
    if isinstance(doc, dict) and "claims" in doc and "kind" not in doc:
        claims = doc["claims"]
        if not isinstance(claims, list):
            raise InputError("$.claims must be a list of claims", where=file)
        return claims, "$.claims"
    if isinstance(doc, dict):
        return [doc], ""
    raise InputError('expected a claim object, {"claims": [...]} or a list of claims', where=file)


def _path(prefix: str, index: int) -> str:
    return f"{prefix}[{index}]" if prefix else "$"


def read(data: bytes, file: str) -> Iterator[Claim | ClaimError]:
    """Every claim of a JSON document, in order; a malformed claim is a ClaimError naming its path."""
    doc = _parse(data, file, exact=True)
    items, prefix = _claim_list(doc, file)
    for index, obj in enumerate(items):
        base = _path(prefix, index)
        try:
            yield _claim(obj, index, base, file)
        except _Bad as exc:
            claim_id = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
            yield ClaimError(
                id=claim_id,
                source=ClaimSource(file=file, index=index),
                error=f"{file}: {exc}",
                location=Location(file=file, path=exc.path),
            )


# -- fixes -------------------------------------------------------------------------------------
def _entry_code(entry: Any, system: str) -> str | None:
    raw = entry.get("code") if isinstance(entry, dict) else entry
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    if system == "note":
        return raw.strip()
    text = raw.strip()
    if system == "revenue" and text.isdigit():
        text = text.zfill(4)
    return normalise(system, text)


def _set_code(entry: Any, new: str) -> Any:
    if isinstance(entry, dict):
        entry["code"] = new
        return entry
    return new


def _note_text(entry: Any) -> str | None:
    raw = entry.get("text") if isinstance(entry, dict) else entry
    return raw.strip() if isinstance(raw, str) else None


def _apply_list(holder: dict[str, Any], key: str, system: str, remove: list[str], add: list[str]) -> None:
    """Replace pairwise (the new code takes the old one's place), then remove or append the rest."""
    items: list[Any] = holder.get(key) or []
    textual = system == "note"
    pairs = list(zip(remove, add, strict=False))
    leftover_remove = remove[len(pairs) :]
    leftover_add = add[len(pairs) :]
    for old, new in pairs:
        for i, entry in enumerate(items):
            code = _note_text(entry) if textual else _entry_code(entry, system)
            if code == old:
                if textual:
                    items[i] = {**entry, "text": new} if isinstance(entry, dict) else new
                else:
                    items[i] = _set_code(entry, new)
                break
        else:
            leftover_add.append(new)
    for old in leftover_remove:
        items[:] = [e for e in items if (_note_text(e) if textual else _entry_code(e, system)) != old]
    present = {(_note_text(e) if textual else _entry_code(e, system)) for e in items}
    as_objects = bool(items) and isinstance(items[0], dict) and not textual
    for new in leftover_add:
        if new not in present:
            items.append({"code": new} if as_objects else new)
            present.add(new)
    if items or key in holder:
        holder[key] = items


_CLAIM_LISTS = {
    "ICD-10-CM": "diagnoses",
    "ICD-10-PCS": "procedures",
    "condition": "condition_codes",
    "value": "value_codes",
    "occurrence": "occurrence_codes",
    "note": "notes",
}


def _apply_line(line: dict[str, Any], system: str, remove: list[str], add: list[str]) -> None:
    if system == "modifier":
        _apply_list(line, "modifiers", "modifier", remove, add)
        return
    if system == "note":
        _apply_list(line, "notes", "note", remove, add)
        return
    key = "revenue_code" if system == "revenue" else "code"
    current = _entry_code(line.get(key), "revenue" if system == "revenue" else "CPT")
    if remove and current in remove:
        if add:
            line[key] = add[0]
            if key == "code" and "system" in line:
                line["system"] = system
        else:
            del line[key]
    elif add and current is None:
        line[key] = add[0]


def _apply_fix(claim: dict[str, Any], fx: Fix) -> None:
    systems: list[str] = []
    for ref in [*fx.remove, *fx.add]:
        if ref.system not in systems:
            systems.append(ref.system)
    for system in systems:
        remove = [r.code for r in fx.remove if r.system == system]
        add = [r.code for r in fx.add if r.system == system]
        line_systems = ("CPT", "HCPCS", "revenue", "modifier")
        if fx.line is not None and (system in line_systems or system == "note"):
            lines = claim.get("lines") or []
            if 1 <= fx.line <= len(lines) and isinstance(lines[fx.line - 1], dict):
                _apply_line(lines[fx.line - 1], system, remove, add)
        elif system in line_systems:
            # claim scope: every line holding a removed code
            for line in claim.get("lines") or []:
                if isinstance(line, dict):
                    key = "revenue_code" if system == "revenue" else "code"
                    if system == "modifier" or _entry_code(line.get(key), system) in remove:
                        _apply_line(line, system, remove, add)
        elif system == "MS-DRG":
            if not remove or _entry_code(claim.get("drg"), "MS-DRG") in remove:
                if add:
                    claim["drg"] = add[0]
                else:
                    claim.pop("drg", None)
        elif system in _CLAIM_LISTS:
            _apply_list(claim, _CLAIM_LISTS[system], system, remove, add)


_NUM = "\u0000N"  # marks a JSON number held as its own text while fixing (see apply_fixes)
_NUM_OUT = re.compile(r'"\\u0000N([-+0-9.eE]+)"')


def apply_fixes(data: bytes, file: str, fixes: Mapping[int, Sequence[Fix]]) -> bytes:
    """The document with the fixes applied; key order and all other values are kept.

    Non-integer numbers are carried as their own text (``1500.00`` stays ``1500.00``): JSON has no
    way to write a float back exactly as it was read, so they travel as marked strings.
    """
    if is_blank(data):
        raise empty_file(file)
    try:
        # a digit string too long for int travels as its text too
        doc = parse_json(data, parse_float=lambda raw: _NUM + raw, parse_int=_fix_int)
    except JsonProblem as exc:
        raise InputError(str(exc), where=file) from None
    items, _ = _claim_list(doc, file)
    for index, claim_fixes in fixes.items():
        if 0 <= index < len(items) and isinstance(items[index], dict):
            for fx in claim_fixes:
                _apply_fix(items[index], fx)
    out = json.dumps(doc, indent=2, ensure_ascii=False)
    # a lone surrogate (read from a \ud800 escape) is written back as that same escape
    return (_NUM_OUT.sub(r"\1", out) + "\n").encode("utf-8", "backslashreplace")


def _fix_int(raw: str) -> int | str:
    value = safe_int(raw)
    return value if isinstance(value, int) else _NUM + raw
