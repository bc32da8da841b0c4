"""`check --strict` on X12: the implementation guide's rules, through pyx12's library.

pyx12's ``x12n_document`` walks the file against its 5010 maps and records every problem in its
error handler, which it writes out as JSON (``fd_json``); that tree, not the ``x12valid`` script's
exit code (wrong both ways, see ../shared/notes/ecosystem.md), becomes findings with rule id
``X12-STRICT``, located by segment number and line.

pyx12 picks its map by GS08 and ships maps for 837P 005010X222A1 and 837I 005010X223A2 only.
So that a file is judged against the guide it claims to follow: when ST03 names another version
than GS08 (zx12's sample), or a version pyx12 has no map for (X223A1/A3, X222A2), the file is
validated in memory with GS08 set to the nearest map, and a finding says so.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

from cartcode.findings import ClaimResult, Finding, Severity
from cartcode.formats.x12._tokenizer import X12SyntaxError, parse_isa
from cartcode.model import Claim

RULE = "X12-STRICT"
NAME = "x12-implementation-guide"
# what pyx12 4.0 has a map for, and what each 837 version is validated with
_MAPPED = {"005010X222A1": "005010X222A1", "005010X222A2": "005010X222A1"}
_MAPPED.update({v: "005010X223A2" for v in ("005010X223A1", "005010X223A2", "005010X223A3")})


def _finding(message: str, location: dict[str, Any], severity: Severity = Severity.ERROR) -> Finding:
    return Finding(rule=RULE, name=NAME, severity=severity, message=message, location=location)


def _retarget(data: bytes, file: str) -> tuple[bytes, list[Finding]]:
    """GS08 rewritten (in memory) to the map each group's ST03 needs; findings say what changed."""
    try:
        d = parse_isa(data, data.find(b"ISA")).delimiters
    except X12SyntaxError:
        return data, []
    e, t = re.escape(d.element), re.escape(d.segment)
    notes: list[Finding] = []
    out = data
    gs_re = re.compile(rb"(?:^|" + t + rb")[ \t\r\n]*GS" + e)
    for gs in reversed(list(gs_re.finditer(data))):
        start = gs.end() - 3
        end = data.find(d.segment, start)
        els = data[start:end].split(d.element)
        st = data.find(b"ST" + d.element + b"837", end)
        st_end = data.find(d.segment, st) if st >= 0 else -1
        st03 = data[st:st_end].split(d.element)[3].decode("latin-1") if st >= 0 and st_end > st else ""
        gs08 = els[8].decode("latin-1") if len(els) > 8 else ""
        wanted = _MAPPED.get(st03 or gs08)
        if wanted is None or wanted == gs08:
            continue
        segment = data.count(d.segment, 0, start) + 1
        why = (
            f"GS08 says {gs08} but ST03 says {st03}"
            if st03 and gs08 != st03 and _MAPPED.get(gs08) != wanted
            else f"pyx12 has no map for {st03 or gs08}"
        )
        notes.append(
            _finding(
                f"{why}: validated against pyx12's {wanted} map",
                {"file": file, "segment": segment, "segment_id": "GS", "element": "GS08"},
                Severity.INFO,
            )
        )
        els[8] = wanted.encode()
        out = out[:start] + d.element.join(els) + out[end:]
    return out, notes


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every node of pyx12's JSON error tree (interchange, group, transaction, segment)."""
    if isinstance(node, dict):
        yield node
        for key in ("interchanges", "groups", "transactions", "segments"):
            for child in node.get(key) or []:
                yield from _nodes(child)


def validate(data: bytes, file: str) -> list[Finding]:
    """pyx12's verdict on an X12 file, as findings (empty when it finds nothing wrong)."""
    import pyx12.errors
    import pyx12.params
    import pyx12.x12n_document

    target, findings = _retarget(data, file)
    text = target.decode("latin-1")
    fd_json = io.StringIO()
    log = logging.getLogger("pyx12")  # it logs every error too; they are reported as findings
    level = log.level
    log.setLevel(logging.CRITICAL + 1)
    try:
        valid = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), io.StringIO(text), io.StringIO(), None, None, fd_json
        )
    except pyx12.errors.EngineError as exc:
        return [*findings, _finding(f"pyx12 could not validate the file: {exc}", {"file": file})]
    except Exception as exc:  # pyx12 itself failing on odd input must not stop the check
        return [*findings, _finding(f"pyx12 stopped on this file ({type(exc).__name__}: {exc})", {"file": file})]
    finally:
        log.setLevel(level)
    try:
        tree = json.loads(fd_json.getvalue() or "{}")
    except ValueError:
        return [*findings, _finding("pyx12 produced no readable error report", {"file": file})]
    lines = _line_index(data)
    for node in _nodes(tree):
        segment = node.get("cur_line") if isinstance(node.get("cur_line"), int) else None
        location: dict[str, Any] = {"file": file}
        if segment is not None:
            location["segment"] = segment  # pyx12 counts segments in its cur_line
            if 0 < segment <= len(lines):
                location["line"] = lines[segment - 1]
        seg_id = node.get("seg_id")
        if seg_id:
            location["segment_id"] = seg_id
        for err in node.get("errors") or []:
            findings.append(_finding(_message(err), location))
        for element in node.get("elements") or []:
            ref = f"{seg_id}{int(element.get('ele_pos') or 0):02d}"
            if element.get("subele_pos"):
                ref += f"-{element['subele_pos']}"
            for err in element.get("errors") or []:
                findings.append(_finding(_message(err), {**location, "element": ref}))
    if not valid and not any(f.severity == Severity.ERROR for f in findings):
        findings.append(
            _finding("pyx12 rejected the file without saying where (it could not read it as X12)", {"file": file})
        )
    return findings


def _message(err: Any) -> str:
    if not isinstance(err, dict):
        return str(err)
    return f"{err.get('err_str', 'error')} (pyx12 error code {err.get('err_cde', '?')})"


def _line_index(data: bytes) -> list[int]:
    """The text line of every segment (1-based), by segment number."""
    try:
        term = parse_isa(data, max(data.find(b"ISA"), 0)).delimiters.segment
    except X12SyntaxError:
        return []
    out = []
    line = 1
    for piece in data.split(term):
        stripped = piece.lstrip(b" \t\r\n")
        line += piece.count(b"\n", 0, len(piece) - len(stripped))
        if stripped:
            out.append(line)
        line += stripped.count(b"\n")
    return out


def add_strict_findings(results: list[ClaimResult], data: bytes, file: str) -> None:
    """Put the strict findings of an X12 file on its claims: each on the claim whose CLM comes
    last before the segment (envelope and header problems on the first claim)."""
    from cartcode.checker._engine import sort_key
    from cartcode.formats import detect_format
    from cartcode.formats.x12._reader import read

    if detect_format(data) != "x12" or not results:
        return
    findings = validate(data, file)
    if not findings:
        return
    starts: list[tuple[int, int]] = []  # (CLM segment number, claim index)
    for item in read(data, file):
        loc = item.loc if isinstance(item, Claim) else item.location
        if loc is not None and loc.segment is not None:
            starts.append((loc.segment, item.source.index))
    by_index = {r.source.index: r for r in results if r.source.file == file} or {i: r for i, r in enumerate(results)}
    first = min(by_index)
    for finding in findings:
        segment = finding.location.get("segment")
        index = first
        for start, idx in starts:
            if segment is not None and start <= segment:
                index = idx
        target = by_index.get(index, by_index[first])
        target.findings.append(finding)
    for result in by_index.values():
        result.findings.sort(key=sort_key)
