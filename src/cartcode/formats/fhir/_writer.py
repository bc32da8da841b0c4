"""Writing fixes back into FHIR Claim / ExplanationOfBenefit JSON.

Same semantics as every writer (:class:`cartcode.findings.Fix`): a remove and an add of one
system replace the code in place (the same coding); a lone remove drops the element holding the
code (diagnosis, procedure, modifier, supportingInfo entry); a lone add appends one. A single
JSON document is written back with its own indentation; in NDJSON only the changed lines change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cartcode._codeformat import normalise
from cartcode.errors import InputError
from cartcode.findings import CodeRef, Fix
from cartcode.formats.fhir._reader import (
    DIAGNOSIS_SYSTEMS,
    HCPCS_SYSTEMS,
    ICD10_AMBIGUOUS,
    NUBC,
    PCS_SYSTEMS,
    PROCEDURE_SYSTEMS,
    REVENUE_SYSTEMS,
    _codings,
    _documents,
    _entries,
)

_NUBC_SYSTEM = {"condition": "ConditionCodes", "value": "ValueCodes", "occurrence": "OccurrenceCodes"}
_INFO = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory", "code": "info"}]}


class _Edit:
    def __init__(self, resource: dict[str, Any], name: str) -> None:
        self.r = resource
        self.name = name

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.name}: {message}")

    def _items(self, line: int | None) -> list[dict[str, Any]]:
        items = [i for i in self.r.get("item") or [] if isinstance(i, dict)]
        if line is None:
            return items
        if not 1 <= line <= len(items):
            raise self.fail(f"item {line} does not exist")
        return [items[line - 1]]

    @staticmethod
    def _next_sequence(entries: list[Any]) -> int:
        numbers = [e["sequence"] for e in entries if isinstance(e, dict) and isinstance(e.get("sequence"), int)]
        return int(max([*numbers, 0])) + 1

    def _find_coded(self, key: str, concept: str, systems: tuple[str, ...], system: str, code: str) -> int | None:
        want = normalise(system, code)
        for i, entry in enumerate(self.r.get(key) or []):
            if not isinstance(entry, dict):
                continue
            for coding in _codings(entry.get(concept)):
                if coding.get("system") in systems and normalise(system, str(coding.get("code"))) == want:
                    return i
        return None

    def _replace_in(self, concept: dict[str, Any], system: str, old: str, new: str) -> None:
        for coding in _codings(concept):
            value = str(coding.get("code"))
            if normalise(system, value) == normalise(system, old):
                fresh = normalise(system, new)
                coding["code"] = fresh if "." in value or system != "ICD-10-CM" else fresh.replace(".", "")
                coding.pop("display", None)  # the old display would describe the old code

    def coded_list(self, key: str, concept: str, system: str, old: CodeRef | None, new: CodeRef | None) -> None:
        systems = DIAGNOSIS_SYSTEMS if key == "diagnosis" else (*PCS_SYSTEMS, ICD10_AMBIGUOUS)
        entries: list[Any] = self.r.setdefault(key, [])
        if old is not None:
            i = self._find_coded(key, concept, systems, system, old.code)
            if i is None:
                raise self.fail(f"{system} {old.code} is not in {key}")
            if new is not None:
                self._replace_in(entries[i][concept], system, old.code, new.code)
            else:
                del entries[i]
            return
        assert new is not None
        if self._find_coded(key, concept, systems, system, new.code) is not None:
            return
        fhir_system = (
            "http://hl7.org/fhir/sid/icd-10-cm" if key == "diagnosis" else "http://hl7.org/fhir/sid/icd-10-pcs"
        )
        entry: dict[str, Any] = {
            "sequence": self._next_sequence(entries),
            concept: {"coding": [{"system": fhir_system, "code": normalise(system, new.code)}]},
        }
        if key == "diagnosis":
            entry["type"] = [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "code": "other"}]}
            ]
        entries.append(entry)

    def supporting(self, system: str, old: CodeRef | None, new: CodeRef | None) -> None:
        entries: list[Any] = self.r.setdefault("supportingInfo", [])

        def matches(entry: Any, code: str) -> bool:
            if not isinstance(entry, dict):
                return False
            if system == "note":
                return str(entry.get("valueString", "")).strip().casefold() == code.strip().casefold()
            return any(
                str(c.get("system", "")).startswith(NUBC + _NUBC_SYSTEM[system])
                and normalise(system, str(c.get("code"))) == normalise(system, code)
                for c in _codings(entry.get("code"))
            )

        if old is not None:
            i = next((i for i, e in enumerate(entries) if matches(e, old.code)), None)
            if i is None:
                raise self.fail(f"{system} {old.code} is not in supportingInfo")
            if new is None:
                del entries[i]
            elif system == "note":
                entries[i]["valueString"] = new.code
            else:
                for coding in _codings(entries[i].get("code")):
                    coding["code"] = new.code
                    coding.pop("display", None)
            return
        assert new is not None
        if any(matches(e, new.code) for e in entries):
            return
        entry: dict[str, Any] = {"sequence": self._next_sequence(entries), "category": json.loads(json.dumps(_INFO))}
        if system == "note":
            entry["valueString"] = new.code
        else:
            entry["code"] = {"coding": [{"system": NUBC + _NUBC_SYSTEM[system], "code": new.code}]}
        entries.append(entry)

    def line_code(self, system: str, old: CodeRef | None, new: CodeRef | None, line: int | None) -> None:
        for item in self._items(line):
            if system == "modifier":
                mods: list[Any] = item.setdefault("modifier", [])
                if old is not None:
                    for m, mod in enumerate(mods):
                        if any(str(c.get("code")).upper() == old.code.upper() for c in _codings(mod)):
                            if new is None:
                                del mods[m]
                            else:
                                for c in _codings(mod):
                                    c["code"] = new.code
                            return
                    continue
                assert new is not None
                if line is None:
                    raise self.fail("adding a modifier needs the item (fix.line)")
                if not any(str(c.get("code")).upper() == new.code.upper() for mod in mods for c in _codings(mod)):
                    mod_system = "http://www.ama-assn.org/go/cpt" if new.code[:1].isdigit() else HCPCS_SYSTEMS[0]
                    mods.append({"coding": [{"system": mod_system, "code": new.code}]})
                return
            if old is None or new is None:
                raise self.fail(f"a {system} code on an item can only be replaced")
            key, systems = (
                ("revenue", REVENUE_SYSTEMS) if system == "revenue" else ("productOrService", PROCEDURE_SYSTEMS)
            )
            hit = False
            for coding in _codings(item.get(key)):
                if coding.get("system") in systems and normalise(system, str(coding.get("code"))) == normalise(
                    system, old.code
                ):
                    coding["code"] = new.code
                    coding.pop("display", None)
                    hit = True
            if hit:
                return
        ref = old or new
        raise self.fail(f"{system} {ref.code if ref else ''} not found on the items")

    def apply(self, fix: Fix) -> None:
        for old, new in fix.pairs():
            ref = old or new
            assert ref is not None
            system = ref.system
            if system == "ICD-10-CM":
                self.coded_list("diagnosis", "diagnosisCodeableConcept", system, old, new)
            elif system == "ICD-10-PCS":
                self.coded_list("procedure", "procedureCodeableConcept", system, old, new)
            elif system in ("condition", "value", "occurrence", "note"):
                self.supporting(system, old, new)
            elif system in ("CPT", "HCPCS", "modifier", "revenue"):
                self.line_code(system, old, new, fix.line)
            else:
                raise self.fail(f"fixes of {system} codes are not written into FHIR")


def _indent(data: bytes) -> int | None:
    lines = data.splitlines()
    if len(lines) < 2:
        return None
    second = lines[1]
    return len(second) - len(second.lstrip(b" ")) or None


def apply_fixes(data: bytes, file: str, fixes: Mapping[int, Sequence[Fix]]) -> bytes:
    wanted = {i: list(f) for i, f in fixes.items() if f}
    if not wanted:
        return data
    docs = list(_documents(data, file))
    single = len(docs) == 1 and docs[0][1] is None  # one JSON document (else NDJSON, line by line)
    index = 0
    changed_lines: dict[int, Any] = {}
    for doc, error, line in docs:
        if error is not None:
            index += 1
            continue
        touched = False
        for resource, base, _ in _entries(doc):  # numbered as the reader numbers them
            if resource is not None:
                for fix in wanted.get(index, []):
                    _Edit(resource, f"{file}: {base}").apply(fix)
                    touched = True
            index += 1
        if touched:
            changed_lines[line] = doc
    if not changed_lines:
        return data
    # A lone surrogate (read from a \\ud800 escape) is written back as that same escape.
    if single:
        doc = changed_lines[next(iter(changed_lines))]
        out = _dumps(doc, file, indent=_indent(data))
        return (out + ("\n" if data.endswith(b"\n") else "")).encode("utf-8", "backslashreplace")
    raw_lines = data.splitlines(keepends=True)
    for n, doc in changed_lines.items():
        ending = b"\n" if raw_lines[n - 1].endswith(b"\n") else b""
        raw_lines[n - 1] = _dumps(doc, file, separators=(",", ":")).encode("utf-8", "backslashreplace") + ending
    return b"".join(raw_lines)


def _dumps(doc: Any, file: str, **kw: Any) -> str:
    try:
        return json.dumps(doc, ensure_ascii=False, **kw)
    except (TypeError, ValueError):  # a number too long for Python's int, held as Decimal
        raise InputError("a number in the file is too long to write back", where=file) from None
