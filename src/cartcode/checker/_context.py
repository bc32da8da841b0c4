"""What rules see: a per-KB index (built once) and a per-claim context (built once per claim).

Rules never walk the KB's row lists in the hot path: :class:`KbIndex` holds the lookups they need
(code rows by system and code, product codes by product and route, the product-name matcher for
notes), keyed on the KB object and built once. :class:`Ctx` holds the facts of one claim that
several rules share (the setting, the dates, the products the claim names, the CAR-T lines).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

from cartcode.checker._grouping import ClaimGrouping
from cartcode.checker._registry import Hit, RuleSpec
from cartcode.findings import CodeRef, Finding, Fix
from cartcode.grouping import GroupingResult, MceReport, group, mce_check
from cartcode.kb.loader import KB
from cartcode.kb.schema import CodeRow, Policy
from cartcode.model import Claim, Coded, Line, Location, Note, Procedure

# The roles (codes.yaml) of codes that administer a CAR-T product.
ADMIN: Final = "admin"
PRODUCT_ROLES: Final = frozenset({"product", "product-temporary"})
PREP_ROLES: Final = frozenset({"collection", "processing", "receipt"})


class KeyCodes:
    """The codes the rules talk about, found in the KB by their role (never written in a rule):
    e.g. the administration revenue code (0874) is the revenue row with role `admin`."""

    __slots__ = (
        "admin_rev", "car_t_drg", "diff_note", "ea_cc", "ea_note", "gene_rev", "kx", "lu", "payer_only_cc",
        "prep_rev", "product_rev", "trial_cc", "trial_dx", "trial_mods", "trial_vc",
    )

    def __init__(self, kb: KB) -> None:
        def codes(system: str, role: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(r.code for r in kb.codes if r.system == system and r.role == role))

        def one(system: str, role: str) -> str:
            found = codes(system, role)
            if len(found) != 1:
                raise ValueError(f"the KB must hold exactly one {system} code with role {role!r}, found {found}")
            return found[0]

        self.admin_rev = one("revenue", ADMIN)
        self.product_rev = one("revenue", "product")
        self.gene_rev = one("revenue", "product-gene-therapy")
        self.prep_rev = {role: one("revenue", role) for role in sorted(PREP_ROLES)}
        self.kx = one("modifier", "rems-attestation")
        self.lu = one("modifier", "fractional-units")
        self.trial_mods = codes("modifier", "clinical-trial")
        self.trial_dx = one("ICD-10-CM", "clinical-trial")
        self.trial_cc = one("condition", "clinical-trial")
        self.trial_vc = one("value", "clinical-trial")
        self.ea_cc = one("condition", "expanded-access")
        self.ea_note = one("note", "expanded-access")
        self.diff_note = one("note", "different-product-trial")
        self.payer_only_cc = one("condition", "payer-only")
        self.car_t_drg = one("MS-DRG", "car-t")


class KbIndex:
    """Lookups over one KB, built once per KB (see :func:`index_for`)."""

    def __init__(self, kb: KB) -> None:
        self.kb = kb
        self.k = KeyCodes(kb)
        rows: dict[tuple[str, str], list[CodeRow]] = {}
        for row in sorted(kb.codes, key=lambda r: r.effective_from or dt.date.min):
            rows.setdefault((row.system, row.code), []).append(row)
        self.rows: dict[tuple[str, str], tuple[CodeRow, ...]] = {k: tuple(v) for k, v in rows.items()}
        # product id -> route -> ICD-10-PCS admin rows (all periods)
        self.pcs_by_product: dict[str, dict[str, list[CodeRow]]] = {}
        self.product_hcpcs: dict[str, list[CodeRow]] = {}
        for row in kb.codes:
            if row.system == "ICD-10-PCS" and row.role == ADMIN and row.route and row.product:
                self.pcs_by_product.setdefault(row.product, {}).setdefault(row.route, []).append(row)
            if row.system == "HCPCS" and row.role in PRODUCT_ROLES and row.product:
                self.product_hcpcs.setdefault(row.product, []).append(row)
        self.cell_kind = {p.id: p.cell_kind for p in kb.products}
        self.product_label = {p.id: (p.brand or p.generic or p.id) for p in kb.products}
        # Product names for notes: whole words, longest first so "axicabtagene ciloleucel" wins.
        names: dict[str, str] = {}
        for prod in kb.products:
            for name in (prod.id, prod.generic, prod.brand, *prod.aliases):
                if name and len(name) >= 4:
                    names[name.casefold()] = prod.id
        self.name_to_product = names
        alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        self.product_pattern = re.compile(rf"(?<![\w-])({alternation})(?![\w-])", re.IGNORECASE)
        self.note_codes = {row.code.casefold(): row for row in kb.codes if row.system == "note"}
        self._policy_cache: dict[tuple[str, dt.date], Policy | None] = {}
        self._valid_cache: dict[tuple[str, str, dt.date], bool | None] = {}
        self._where_cache: dict[tuple[tuple[str, Any], ...], tuple[CodeRow, ...]] = {}

    def row_on(self, system: str, code: str, day: dt.date | None) -> CodeRow | None:
        """The row valid on `day`; without a date, the newest row."""
        rows = self.rows.get((system, code))
        if not rows:
            return None
        if day is None:
            return rows[-1]
        for row in rows:
            if row.valid_on(day):
                return row
        return None

    def valid(self, system: str, code: str, day: dt.date) -> bool | None:
        """Whether a known code is valid on `day` (None: the KB does not know the code). Cached:
        a batch asks about few codes on few dates."""
        key = (system, code, day)
        found = self._valid_cache.get(key, 0)
        if found != 0:
            return found  # type: ignore[return-value]
        rows = self.rows.get((system, code))
        result = None if not rows else any(r.valid_on(day) for r in rows)
        if len(self._valid_cache) < 200_000:
            self._valid_cache[key] = result
        return result

    def codes_where(self, **attrs: Any) -> tuple[CodeRow, ...]:
        """kb.codes_where, cached per query (rules ask the same few questions)."""
        key = tuple(sorted(attrs.items()))
        found = self._where_cache.get(key)
        if found is None:
            found = tuple(self.kb.codes_where(**attrs))
            self._where_cache[key] = found
        return found

    def any_row(self, system: str, code: str) -> CodeRow | None:
        rows = self.rows.get((system, code))
        return rows[-1] if rows else None

    def knows(self, system: str, code: str) -> bool:
        return (system, code) in self.rows

    def policy(self, policy_id: str, day: dt.date) -> Policy | None:
        key = (policy_id, day)
        try:
            return self._policy_cache[key]
        except KeyError:
            found = self.kb.policy(policy_id, on=day)
            if len(self._policy_cache) < 100_000:
                self._policy_cache[key] = found
            return found

    def policy_value(self, policy_id: str, day: dt.date | None) -> Any:
        if day is None:
            return None
        pol = self.policy(policy_id, day)
        return pol.value if pol is not None else None

    def product_pcs(self, product_id: str, route: str, day: dt.date | None) -> CodeRow | None:
        """The product-specific ICD-10-PCS admin code for a route, valid on `day`."""
        for row in self.pcs_by_product.get(product_id, {}).get(route, []):
            if day is None or row.valid_on(day):
                return row
        return None

_INDEXES: Final[dict[int, tuple[KB, KbIndex]]] = {}


def index_for(kb: KB) -> KbIndex:
    """The index of `kb`, built on first use. Keyed by identity: the KB dataclass is unhashable."""
    hit = _INDEXES.get(id(kb))
    if hit is not None and hit[0] is kb:
        return hit[1]
    index = KbIndex(kb)
    _INDEXES[id(kb)] = (kb, index)  # keeps kb alive, so the id cannot be reused while cached
    return index


class LineFacts:
    """One service line with what rules ask of it, computed once."""

    __slots__ = ("code", "date", "line", "mods", "rev", "row", "system")

    def __init__(self, line: Line, day: dt.date | None, ix: KbIndex) -> None:
        self.line = line
        self.date = day
        proc = line.procedure
        self.system = proc.system if proc is not None else None
        self.code = proc.code if proc is not None else None
        self.row = ix.any_row(proc.system, proc.code) if proc is not None else None
        self.rev = line.revenue_code.code if line.revenue_code is not None else None
        self.mods = [m.code for m in line.modifiers] if line.modifiers else []

# The claim triggers a rule may name in `needs` (see Ctx.triggers).
TRIGGERS: Final = frozenset({
    "procedures", "car-t-pcs", "pcs:generic", "pcs:product", "pcs:other", "notes", "note:ea", "note:diff",
    "conditions", "values", "z00.6", "drg", "lines", "line:rev", "line:rev-unknown", "line:admin-rev", "undated",
    "line:admin", "line:product", "line:prep", "line:unlisted", "payer:ma",
})
_LINE_TRIGGER: Final = {ADMIN: "line:admin", "unlisted": "line:unlisted", **{r: "line:product" for r in PRODUCT_ROLES},
                 **{r: "line:prep" for r in PREP_ROLES}}


class Ctx:
    """The facts of one claim that rules share.

    `lines` holds only the lines that can matter to a CAR-T rule: a procedure code the KB knows,
    or a cell/gene therapy revenue code (087X, 089X); room and board or laboratory lines are
    skipped once here instead of in every rule.
    """

    __slots__ = (
        "_grouping",
        "_grouping_done",
        "_mce",
        "_notes",
        "_products",
        "_view",
        "cc",
        "claim",
        "dx",
        "grouping_on",
        "ix",
        "kb",
        "lines",
        "medicare",
        "pcs_admin",
        "pcs_date",
        "setting",
        "triggers",
    )

    def __init__(self, claim: Claim, kb: KB, ix: KbIndex, grouping: bool = True) -> None:
        self.claim = claim
        self.kb = kb
        self.ix = ix
        self.setting = claim.setting
        # MS-DRG grouping (inpatient claims): computed on first use, once (see the grouping property)
        self.grouping_on = grouping and self.setting == "inpatient"
        self._grouping: GroupingResult | None = None
        self._grouping_done = False
        self._mce: MceReport | None = None
        self._view: ClaimGrouping | None = None
        self.pcs_date = claim.discharge_or_through
        triggers: set[str] = set()
        fallback = claim.statement_to or claim.statement_from or claim.discharge_date
        rows = ix.rows
        lines: list[LineFacts] = []
        has_notes = bool(claim.notes)
        for line in claim.lines:
            proc = line.procedure
            rev = line.revenue_code
            known = proc is not None and (proc.system, proc.code) in rows
            if known or (rev is not None and rev.code[:3] in ("087", "089")):
                lf = LineFacts(line, line.date or fallback, ix)
                lines.append(lf)
                if lf.row is not None:
                    if lf.row.role in _LINE_TRIGGER:
                        triggers.add(_LINE_TRIGGER[lf.row.role])
                    if lf.date is None:
                        triggers.add("undated")
                if lf.rev is not None:
                    triggers.add("line:rev")
                    if lf.rev == ix.k.admin_rev:
                        triggers.add("line:admin-rev")
                    elif ("revenue", lf.rev) not in rows:
                        triggers.add("line:rev-unknown")
            if line.notes:
                has_notes = True
        self.lines = lines
        self.pcs_admin: list[tuple[Procedure, CodeRow]] = []
        for proc in claim.procedures:
            prow = ix.any_row("ICD-10-PCS", proc.code)
            if prow is not None and prow.role == ADMIN:
                self.pcs_admin.append((proc, prow))
        self.dx = {d.code for d in claim.diagnoses}
        self.cc = {c.code for c in claim.condition_codes}
        if lines:
            triggers.add("lines")
        if claim.procedures:
            triggers.add("procedures")
        if self.pcs_admin:
            triggers.add("car-t-pcs")
            for _, prow in self.pcs_admin:
                triggers.add("pcs:product" if prow.product else "pcs:generic")
        if len(claim.procedures) > len(self.pcs_admin):
            triggers.add("pcs:other")
        if claim.procedures and self.pcs_date is None:
            triggers.add("undated")
        if has_notes:
            triggers.add("notes")
            folded = "\n".join(note.text.casefold() for note in claim.all_notes())
            if ix.k.ea_note.casefold() in folded:
                triggers.add("note:ea")
            if ix.k.diff_note.casefold() in folded:
                triggers.add("note:diff")
        if claim.payer == "medicare-advantage":
            triggers.add("payer:ma")
        if self.cc:
            triggers.add("conditions")
        if claim.value_codes:
            triggers.add("values")
        if ix.k.trial_dx in self.dx:
            triggers.add("z00.6")
        if claim.drg is not None:
            triggers.add("drg")
        self.triggers = frozenset(triggers)
        payer = claim.payer
        fi = claim.filing_indicator
        # Original Medicare (Part A / Part B MACs); Medicare Advantage plans set their own rules.
        self.medicare = payer == "medicare" or (payer is None and fi in ("MA", "MB")) or (
            payer is None and claim.medicare_part is not None
        )
        self._products: dict[str, Location | None] | None = None
        self._notes: list[tuple[Note, str]] | None = None

    # -- MS-DRG grouping ----------------------------------------------------------------------
    @property
    def grouping_view(self) -> ClaimGrouping:
        """The claim as the grouper sees it (its input and where each code came from), built once."""
        if self._view is None:
            self._view = ClaimGrouping(self.claim)
        return self._view

    @property
    def grouping(self) -> GroupingResult | None:
        """The MS-DRG this inpatient claim groups to with the definitions version in force on its
        discharge date, or why it cannot be grouped; None for other claims or with grouping off.
        Computed once per claim, on first use (never raises)."""
        if not self._grouping_done:
            self._grouping_done = True
            if self.grouping_on:
                view = self.grouping_view
                self._grouping = group(view.input, view.prepared)
        return self._grouping

    @property
    def mce(self) -> MceReport | None:
        """The Medicare Code Editor's edits of this inpatient claim (None for other claims or with
        grouping off), computed once."""
        if self._mce is None and self.grouping_on:
            view = self.grouping_view
            self._mce = mce_check(view.input, view.prepared)
        return self._mce

    # -- products ----------------------------------------------------------------------------
    @property
    def products(self) -> dict[str, Location | None]:
        """Products the claim names: a product HCPCS code on any line, or a note naming it."""
        if self._products is None:
            found: dict[str, Location | None] = {}
            for lf in self.lines:
                row = lf.row
                if row is not None and row.product and row.role in PRODUCT_ROLES and lf.line.procedure is not None:
                    found.setdefault(row.product, lf.line.procedure.loc)
            for note, _ in self.notes() if "notes" in self.triggers else ():
                for match in self.ix.product_pattern.finditer(note.text):
                    pid = self.ix.name_to_product[match.group(1).casefold()]
                    found.setdefault(pid, note.loc)
            self._products = found
        return self._products

    def specific_products(self) -> list[str]:
        """Named products that have product-specific codes (not the generic kinds)."""
        return [p for p in self.products if p in self.ix.pcs_by_product or p in self.ix.product_hcpcs]

    # -- claim facts -------------------------------------------------------------------------
    def is_car_t(self) -> bool:
        """A CAR-T claim: a CAR-T administration code, product code, or 087X/0891 line."""
        if self.pcs_admin:
            return True
        for lf in self.lines:
            if lf.row is not None and lf.row.cell_kind is not None:
                return True
            if lf.rev is not None and (lf.rev.startswith("087") or lf.rev == self.ix.k.product_rev):
                return True
        return False

    def notes(self) -> list[tuple[Note, str]]:
        """Every note (claim and line level) with its case-folded text, computed once."""
        if self._notes is None:
            self._notes = [(note, note.text.casefold()) for note in self.claim.all_notes()]
        return self._notes

    def has_note(self, text: str) -> Note | None:
        """The first note containing `text` (case-insensitive)."""
        if "notes" not in self.triggers:
            return None
        wanted = text.casefold()
        for note, folded in self.notes():
            if wanted in folded:
                return note
        return None

    def condition(self, code: str) -> Coded | None:
        return next((c for c in self.claim.condition_codes if c.code == code), None)

    def diagnosis(self, code: str) -> Coded | None:
        return next((d for d in self.claim.diagnoses if d.code == code), None)

    def value(self, code: str) -> Coded | None:
        return next((v for v in self.claim.value_codes if v.code == code), None)

    def claim_loc(self, field: str | None = None) -> Location | None:
        if field is not None and field in self.claim.locs:
            return self.claim.locs[field]
        return self.claim.loc

    def line_loc(self, lf: LineFacts, field: str | None = None) -> Location | None:
        line = lf.line
        if field == "code" and line.procedure is not None:
            return line.procedure.loc or line.loc
        if field == "revenue_code" and line.revenue_code is not None:
            return line.revenue_code.loc or line.loc
        if field is not None and field in line.locs:
            return line.locs[field]
        return line.loc

    def drg018(self) -> bool:
        """Groups to MS-DRG 018: inpatient, a CAR-T admin PCS code, discharge when 018 existed."""
        if self.setting != "inpatient" or not self.pcs_admin or self.pcs_date is None:
            return False
        return self.ix.policy_value("drg-018-exists", self.pcs_date) is not None

    def product_charge(self) -> list[LineFacts]:
        """Lines carrying the product charge: revenue 0891/0892 or a product HCPCS code."""
        revs = (self.ix.k.product_rev, self.ix.k.gene_rev)
        return [lf for lf in self.lines if lf.rev in revs or (lf.row is not None and lf.row.role in PRODUCT_ROLES)]

    def product_purchased(self) -> bool | None:
        """The product was bought in the usual manner: its charge lines add up to more than the
        inpatient token (policy inpatient-product-token-max, $1.00 from FY2021). False for a token
        charge or no product line at all; None when no token policy covers the discharge."""
        token = self.ix.policy_value("inpatient-product-token-max", self.pcs_date)
        if token is None:
            return None
        charges = [lf.line.charge for lf in self.product_charge() if lf.line.charge is not None]
        return bool(charges) and sum(charges, Decimal(0)) > Decimal(str(token))

    def drg018_adjustment(self) -> list[str]:
        """Why the MS-DRG 018 payment adjustment applies to this claim (empty: it does not), as
        recommend's decisions (decisions.yaml, ip-adjust-*) decide it from the encounter's facts,
        here read from the claim: Z00.6 (a trial of this product, unless the "Diff Prod Clin Trial"
        note says the trial is of a different product: CART501 and CART503), expanded access
        (condition code 90 or the "Expand Acc Use" note: CART502), or a product not purchased in the
        usual manner (no product charge above the token), whatever the trial."""
        k = self.ix.k
        purchased = self.product_purchased()
        reasons: list[str] = []
        if k.trial_dx in self.dx and self.has_note(k.diff_note) is None:
            reasons.append(f"clinical trial of the CAR-T product ({k.trial_dx} on the claim)")
        if k.ea_cc in self.cc or self.has_note(k.ea_note) is not None:
            signal = f"condition code {k.ea_cc}" if k.ea_cc in self.cc else f'the "{k.ea_note}" note'
            reasons.append(f"expanded access use ({signal})")
        if purchased is False:
            reasons.append("the product was not purchased in the usual manner (no product charge above the token)")
        return reasons


_REFS: Final[dict[tuple[str, str], CodeRef]] = {}  # CodeRef is frozen: one object per code is enough


def ref(system: str, code: str) -> CodeRef:
    found = _REFS.get((system, code))
    if found is None:
        found = CodeRef(system=system, code=code)
        if len(_REFS) < 100_000:
            _REFS[(system, code)] = found
    return found


def fix(
    *,
    remove: Iterable[tuple[str, str]] = (),
    add: Iterable[tuple[str, str]] = (),
    safe: bool,
    line: int | None = None,
    title: str | None = None,
) -> Fix:
    return Fix(
        remove=[ref(s, c) for s, c in remove],
        add=[ref(s, c) for s, c in add],
        safe=safe,
        line=line,
        title=title,
    )


def replace(system: str, old: str, new: str, *, safe: bool, line: int | None = None) -> Fix:
    return fix(remove=[(system, old)], add=[(system, new)], safe=safe, line=line, title=f"Replace {old} with {new}")


def location_dict(loc: Location | None) -> dict[str, Any]:
    """A finding's location: Location.as_dict(), or {} for none."""
    return loc.as_dict() if loc is not None else {}


def build_finding(spec: RuleSpec, hit: Hit) -> Finding:
    """The one place a rule's Finding is built (rule metadata + the hit)."""
    sources = list(spec.sources)
    if hit.sources:
        sources.extend(s for s in hit.sources if s not in sources)
    return Finding(
        rule=spec.id,
        name=spec.name,
        severity=hit.severity or spec.severity,
        message=hit.message,
        location=location_dict(hit.loc),
        codes=[ref(s, c) for s, c in hit.codes],
        fix=hit.fix,
        sources=sources,
    )


def fmt_date(day: dt.date | None) -> str:
    return day.isoformat() if day is not None else "(no date)"
