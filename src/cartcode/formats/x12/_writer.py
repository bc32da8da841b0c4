"""Writing fixes back into an 837: only the fixed segments change.

Every claim with fixes is re-read segment by segment from its CLM to the next HL/CLM/SE; a fix
edits those segments as element lists (replace a code in place, add or drop a composite, add or
drop a segment), and the output is the input with just those byte ranges replaced. Delimiters,
line breaks, envelopes and all other bytes are copied. When segments are added or removed, the
transaction's SE01 moves by the same number, so a count that was right stays right.

Fix semantics (:class:`cartcode.findings.Fix`): within the scope (the service line when
``fix.line`` is set, else the claim) each removed code is removed and each added code added; a
remove and an add of the same system are a replacement in place (same segment, same element).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cartcode._codeformat import normalise
from cartcode.errors import InputError
from cartcode.findings import CodeRef, Fix
from cartcode.formats.x12._tokenizer import Delimiters, X12SyntaxError, parse_isa, skip_whitespace
from cartcode.model import Claim

# HI qualifiers per system (ICD-10 first: what an added code gets), and the implementation
# guide's order of the HI segments in loop 2300, used to place a new HI segment.
_HI_QUALS: dict[str, tuple[str, ...]] = {
    "ICD-10-CM": ("ABF", "ABK", "ABJ", "APR", "ABN", "BF", "BK", "BJ", "PR", "BN"),
    "ICD-10-PCS": ("BBQ", "BBR", "BQ", "BR"),
    "condition": ("BG",),
    "value": ("BE",),
    "occurrence": ("BH",),
    "MS-DRG": ("DR",),
}
_HI_RANK = {
    q: i
    for i, group in enumerate(
        (
            ("ABK", "BK"),
            ("ABJ", "BJ"),
            ("APR", "PR"),
            ("ABN", "BN"),
            ("DR",),
            ("ABF", "BF"),
            ("BBR", "BR"),
            ("BBQ", "BQ"),
            ("BI",),
            ("BH",),
            ("BE",),
            ("BG",),
            ("TC",),
        )
    )
    for q in group
}
# 2300 segments that come after NTE and HI: a new NTE or HI goes before the first of them.
_AFTER_NTE_2300 = ("CR1", "CR2", "CRC", "HI", "HCP", "NM1", "SBR", "LX")
_AFTER_HI_2300 = ("HCP", "NM1", "SBR", "LX")
_AFTER_NTE_2400 = ("PS1", "HCP", "LIN", "NM1", "SVD", "LQ", "FRM")
_STOP = ("HL", "CLM", "SE", "GE", "IEA")


@dataclass(slots=True)
class _Seg:
    start: int  # offset of the segment's first byte
    end: int  # offset of its terminator
    next_start: int  # offset of the next segment (after terminator and line breaks)
    els: list[str]
    changed: bool = False
    deleted: bool = False
    before: list[str] = field(default_factory=list)  # new segments inserted before this one

    @property
    def tag(self) -> str:
        return self.els[0]


class _ClaimEdit:
    def __init__(self, data: bytes, d: Delimiters, clm_offset: int, claim: Claim) -> None:
        self.d = d
        self.claim = claim
        self.el = d.element.decode("latin-1")
        self.comp = d.component.decode("latin-1")
        self.segs: list[_Seg] = []
        pos = clm_offset
        n = len(data)
        while pos < n:
            end = data.find(d.segment, pos)
            if end < 0:
                end = n
            els = data[pos:end].decode("latin-1").split(self.el)
            nxt = skip_whitespace(data, end + 1)
            self.segs.append(_Seg(pos, end, nxt, els))
            if len(self.segs) > 1 and els[0] in _STOP:
                break  # the sentinel: first segment after the claim
            pos = nxt
        # claim-level part: CLM up to the first 2310 NM1 / 2320 SBR / LX
        self.claim_end = next(
            (i for i, s in enumerate(self.segs) if i and s.tag in ("NM1", "SBR", "LX", *_STOP)), len(self.segs) - 1
        )
        self.lines: list[tuple[int, int]] = []  # (LX index, index of the first segment after the line)
        for i, s in enumerate(self.segs):
            if s.tag == "LX":
                if self.lines:
                    self.lines[-1] = (self.lines[-1][0], i)
                self.lines.append((i, len(self.segs) - 1))
        self.delta = 0

    def fail(self, message: str) -> InputError:
        return InputError(f"claim {self.claim.id}: {message}")

    # -- HI composites ---------------------------------------------------------------------
    def _hi_find(self, system: str, code: str) -> tuple[_Seg, int] | None:
        quals = _HI_QUALS[system]
        want = normalise(system, code)
        for s in self.segs[1 : self.claim_end]:
            if s.tag != "HI" or s.deleted:
                continue
            for i in range(1, len(s.els)):
                parts = s.els[i].split(self.comp)
                if parts[0] in quals and len(parts) > 1 and normalise(system, parts[1]) == want:
                    return s, i
        return None

    @staticmethod
    def _x12_code(system: str, code: str) -> str:
        return normalise(system, code).replace(".", "") if system == "ICD-10-CM" else normalise(system, code)

    def _hi_replace(self, old: CodeRef, new: CodeRef) -> None:
        found = self._hi_find(old.system, old.code)
        if found is None:
            raise self.fail(f"{old.system} {old.code} to replace is not on the claim")
        s, i = found
        parts = s.els[i].split(self.comp)
        parts[1] = self._x12_code(new.system, new.code)
        s.els[i] = self.comp.join(parts)
        s.changed = True

    def _hi_remove(self, old: CodeRef) -> None:
        found = self._hi_find(old.system, old.code)
        if found is None:
            raise self.fail(f"{old.system} {old.code} to remove is not on the claim")
        s, i = found
        del s.els[i]
        if len(s.els) == 1:
            s.deleted = True
            self.delta -= 1
        else:
            s.changed = True

    def _hi_add(self, new: CodeRef) -> None:
        if self._hi_find(new.system, new.code) is not None:
            return  # already there
        system = new.system
        code = self._x12_code(system, new.code)
        if system == "ICD-10-CM":
            has_principal = any(
                s.tag == "HI" and any(e.split(self.comp)[0] in ("ABK", "BK") for e in s.els[1:])
                for s in self.segs[1 : self.claim_end]
            )
            qual = "ABF" if has_principal else "ABK"
        elif system == "ICD-10-PCS":
            has_principal = any(
                s.tag == "HI" and any(e.split(self.comp)[0] in ("BBR", "BR") for e in s.els[1:])
                for s in self.segs[1 : self.claim_end]
            )
            qual = "BBQ" if has_principal else "BBR"
        else:
            qual = _HI_QUALS[system][0]
        composite = f"{qual}{self.comp}{code}"
        date = self.claim.discharge_or_through if system == "ICD-10-PCS" else None
        if system == "occurrence":
            date = self.claim.statement_from
        if date is not None:
            composite += f"{self.comp}D8{self.comp}{date:%Y%m%d}"
        # an existing HI of the same qualifier family with room for one more composite
        rank = _HI_RANK[qual]
        last_le: int | None = None
        first_gt: int | None = None
        for idx in range(1, self.claim_end):
            s = self.segs[idx]
            if s.tag != "HI" or s.deleted or len(s.els) < 2:
                continue
            seg_rank = _HI_RANK.get(s.els[1].split(self.comp)[0], 99)
            if seg_rank == rank and qual not in ("ABK", "BBR", "DR") and len(s.els) < 13:
                s.els.append(composite)
                s.changed = True
                return
            if seg_rank <= rank:
                last_le = idx
            elif first_gt is None:
                first_gt = idx
        if last_le is not None:
            anchor = last_le + 1
        elif first_gt is not None:
            anchor = first_gt
        else:
            anchor = self._first_of(_AFTER_HI_2300, 1, self.claim_end)
        self._insert(anchor, ["HI", composite])

    # -- notes -----------------------------------------------------------------------------
    def _scope(self, line: int | None) -> tuple[int, int]:
        if line is None:
            return 1, self.claim_end
        if not 1 <= line <= len(self.lines):
            raise self.fail(f"service line {line} does not exist")
        return self.lines[line - 1]

    def _nte_find(self, text: str, line: int | None) -> _Seg | None:
        lo, hi = self._scope(line)
        want = text.strip().casefold()
        for s in self.segs[lo:hi]:
            if s.tag == "NTE" and not s.deleted and len(s.els) > 2 and s.els[2].strip().casefold() == want:
                return s
        return None

    def _note(self, old: CodeRef | None, new: CodeRef | None, line: int | None) -> None:
        if old is not None:
            s = self._nte_find(old.code, line)
            if s is None:
                raise self.fail(f"note {old.code!r} to change is not on the claim")
            if new is not None:
                s.els[2] = new.code
                s.changed = True
            else:
                s.deleted = True
                self.delta -= 1
            return
        assert new is not None
        if self._nte_find(new.code, line) is not None:
            return
        lo, hi = self._scope(line)
        ntes = [i for i in range(lo, hi) if self.segs[i].tag == "NTE"]
        anchor = ntes[-1] + 1 if ntes else self._first_of(_AFTER_NTE_2300 if line is None else _AFTER_NTE_2400, lo, hi)
        self._insert(anchor, ["NTE", "ADD", new.code])

    # -- service lines ---------------------------------------------------------------------
    def _service(self, line: int | None, system: str, code: str | None) -> tuple[_Seg, int]:
        """The SV1/SV2 of `line` (or the line holding `code` when no line is given) and the index
        of its procedure composite."""
        candidates = [line] if line is not None else list(range(1, len(self.lines) + 1))
        for number in candidates:
            lo, hi = self._scope(number)
            for s in self.segs[lo:hi]:
                if s.tag in ("SV1", "SV2"):
                    idx = 1 if s.tag == "SV1" else 2
                    if code is None:
                        return s, idx
                    parts = (s.els[idx] if idx < len(s.els) else "").split(self.comp)
                    values = parts[1:2] if system in ("CPT", "HCPCS") else parts[2:6]
                    if system == "revenue":
                        values = s.els[1:2]
                    if normalise(system, code) in [normalise(system, v) for v in values]:
                        return s, idx
        where = f"service line {line}" if line is not None else "any service line"
        raise self.fail(f"{system} {code} is not on {where}")

    def _line_code(self, old: CodeRef | None, new: CodeRef | None, line: int | None) -> None:
        ref = old or new
        assert ref is not None
        system = ref.system
        if system == "revenue":
            if old is None or new is None:
                raise self.fail("a revenue code can only be replaced, not added or removed alone")
            s, _ = self._service(line, "revenue", old.code)
            s.els[1] = normalise("revenue", new.code)
            s.changed = True
            return
        if system in ("CPT", "HCPCS"):
            if old is None or new is None:
                raise self.fail(f"a line's {system} code can only be replaced; add or remove the line by hand")
            s, idx = self._service(line, system, old.code)
            parts = s.els[idx].split(self.comp)
            parts[1] = new.code.upper()
            s.els[idx] = self.comp.join(parts)
            s.changed = True
            return
        # modifiers: SVx0y-3..6
        if old is not None:
            s, idx = self._service(line, "modifier", old.code)
            parts = s.els[idx].split(self.comp)
            mods = [m for m in parts[2:6]]
            pos = [normalise("modifier", m) for m in mods].index(normalise("modifier", old.code))
            if new is not None:
                mods[pos] = new.code.upper()
            else:
                del mods[pos]
        else:
            assert new is not None
            s, idx = self._service(line, "modifier", None)
            parts = s.els[idx].split(self.comp)
            mods = [m for m in parts[2:6] if m]
            if normalise("modifier", new.code) in mods:
                return
            if len(mods) >= 4:
                raise self.fail(f"service line {line} already has four modifiers")
            mods.append(new.code.upper())
        mods = [m for m in mods if m]
        description = parts[6:]
        head = parts[:2]
        parts = head + mods + [""] * (4 - len(mods)) + description if description else head + mods
        s.els[idx] = self.comp.join(parts)
        s.changed = True

    # -- plumbing --------------------------------------------------------------------------
    def _first_of(self, tags: tuple[str, ...], lo: int, hi: int) -> int:
        for i in range(lo, hi):
            if self.segs[i].tag in tags:
                return i
        return hi

    def _insert(self, anchor: int, els: list[str]) -> None:
        self.segs[anchor].before.append(self.el.join(els))
        self.delta += 1

    def apply(self, fix: Fix) -> None:
        for old, new in fix.pairs():
            ref = old or new
            assert ref is not None
            system = ref.system
            if system in _HI_QUALS:
                if old is not None and new is not None:
                    self._hi_replace(old, new)
                elif old is not None:
                    self._hi_remove(old)
                elif new is not None:
                    self._hi_add(new)
            elif system == "note":
                self._note(old, new, fix.line)
            elif system in ("CPT", "HCPCS", "modifier", "revenue"):
                self._line_code(old, new, fix.line)
            else:
                raise self.fail(f"fixes of {system} codes are not written into X12")

    def edits(self, sep: bytes) -> list[tuple[int, int, bytes]]:
        out: list[tuple[int, int, bytes]] = []
        term = self.d.segment
        for s in self.segs:
            if s.before:
                text = b"".join(b.encode("latin-1") + term + sep for b in s.before)
                out.append((s.start, s.start, text))
            if s.deleted:
                out.append((s.start, s.next_start, b""))
            elif s.changed:
                out.append((s.start, s.end, self.el.join(s.els).encode("latin-1")))
        return out


def _se_after(data: bytes, d: Delimiters, pos: int) -> tuple[int, int] | None:
    """(start, terminator offset) of the first SE segment at or after `pos`."""
    from cartcode.formats.x12._reader import _at_segment_start

    marker = b"SE" + d.element
    p = data.find(marker, pos)
    while p > 0:
        if _at_segment_start(data, p, d.segment):
            end = data.find(d.segment, p)
            return p, len(data) if end < 0 else end
        p = data.find(marker, p + 1)
    return None


def apply_fixes(data: bytes, file: str, fixes: Mapping[int, Sequence[Fix]]) -> bytes:
    """The 837 with `fixes` (claim index -> fixes) applied; with no fix, `data` itself."""
    wanted = {i: list(f) for i, f in fixes.items() if f}
    if not wanted:
        return data
    from cartcode.formats.x12._reader import read

    edits: list[tuple[int, int, bytes]] = []
    se_delta: dict[tuple[int, int], int] = {}
    isa_pos = 0
    for item in read(data, file):
        index = item.source.index
        if index not in wanted:
            continue
        if not isinstance(item, Claim) or item.loc is None or item.loc.offset is None:
            raise InputError(f"claim {item.id} could not be read, so it cannot be fixed", where=file)
        offset = item.loc.offset
        isa_pos = max(data.rfind(b"ISA", 0, offset), 0)
        try:
            d = parse_isa(data, isa_pos).delimiters
        except X12SyntaxError as exc:  # pragma: no cover - read() already reported it
            raise InputError(str(exc), where=file) from exc
        edit = _ClaimEdit(data, d, offset, item)
        for fix in wanted[index]:
            try:
                edit.apply(fix)
            except InputError as exc:
                raise InputError(str(exc), where=file) from exc
        clm = edit.segs[0]
        sep = data[clm.end + 1 : clm.next_start]  # the line break style after a terminator
        edits.extend(edit.edits(sep))
        if edit.delta:
            se = _se_after(data, d, offset)
            if se is not None:
                se_delta[se] = se_delta.get(se, 0) + edit.delta
    for (start, end), delta in se_delta.items():
        isa_pos = max(data.rfind(b"ISA", 0, start), 0)
        d = parse_isa(data, isa_pos).delimiters
        els = data[start:end].split(d.element)
        if len(els) > 1 and els[1].strip().isdigit():
            els[1] = str(int(els[1]) + delta).encode()
            edits.append((start, end, d.element.join(els)))
    edits.sort(key=lambda e: (e[0], e[1]))
    out = bytearray()
    pos = 0
    for start, end, text in edits:
        if start < pos:
            raise InputError("overlapping fixes in one segment could not be written", where=file)
        out += data[pos:start]
        out += text
        pos = end
    out += data[pos:]
    return bytes(out)
