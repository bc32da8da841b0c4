"""The cheap CAR-T relevance pre-filter: one compiled bytes regex built from the KB's code list.

Most claims in a real batch have nothing to do with CAR-T. A claim whose bytes mention none of
the KB's CAR-T codes cannot trigger any rule (every rule keys on one of them), so batch and the
X12 reader's fast path account for it as `checked` with no findings without building a model.

What the regex matches, in any of our input formats (X12, our JSON, FHIR JSON):

* every ICD-10-PCS, CPT, HCPCS and ICD-10-CM code of ``kb/data/codes.yaml`` as a whole token
  (ICD-10-CM with or without its dot: ``Z00.6`` / ``Z006``);
* revenue codes: every KB revenue code plus the whole 087X family (4 digits anywhere, 3 digits
  right after ``SV2*`` as 837I may write them, 3 or 4 digits quoted as JSON may write them);
* condition and value codes (2 characters, far too common as bare tokens): qualified, as 837I
  writes them (``BG:90``, ``BE:86``), or as a quoted JSON string (``"90"``);
* MS-DRG codes: ``DR:018`` in X12, ``"018"`` quoted in JSON;
* billing notes (``Expand Acc Use``, ``Diff Prod Clin Trial``), any case and spacing.

Not matched on their own: modifiers (KX, Q0, Q1 are used far beyond CAR-T; LU and KX only
matter next to a CAR-T code, which is matched), APC and occurrence codes (payer-derived or not
CAR-T specific). Letters match in either case.

Batch uses the 837-only variant (``build_pattern(kb, x12=True)``, :func:`bundled_x12_pattern`):
CPT/HCPCS and revenue codes are matched only where the X12 reader reads them (SV1/SV2), which
makes the scan about twice as fast.

With MS-DRG grouping on, batch uses the inpatient variant (``build_pattern(kb, x12=True,
inpatient=True)``, ``bundled_x12_pattern(inpatient=True)``): it also matches every CLM whose CLM05-1
is an inpatient type of bill (:data:`INPATIENT_BILL_TYPES`, zero-padded or not) with any CLM05-2
qualifier but ``B`` (837P writes ``11:B:1``, place of service and qualifier B; 837I writes
``11:A:1``), so each inpatient 837I claim is read in full and grouped, as `check` groups it. The
match starts at the claim's CLM, inside its bytes. An 837P's CLM05 never matches, so its claims
stay cleared; the reader scans 837P transactions with the pattern without that branch
(:func:`professional_pattern`), as the branch would be one more pass over every buffer (anchored
on ``CLM``, about 1.2 GB/s here: 8% of batch's time on the mixed 837P).

False positives (a ZIP code 38228, a quoted "30") only cost a full parse; a false negative would
hide findings, so the regex errs on the side of matching.

Speed: the pattern is one alternation whose branches each start with a literal character and
continue as a trie, so `re` skips most positions on the first character (about 80-100 MB/s on
one core here, measured by bench/bench_batch.py). A leading lookbehind would disable that skip,
so the "no letter or digit before" check sits just after the first character instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # pragma: no cover
    from cartcode.kb.loader import KB

TOKEN_SYSTEMS: Final = ("ICD-10-PCS", "CPT", "HCPCS", "ICD-10-CM", "revenue")
QUALIFIED: Final = {"condition": "BG", "value": "BE", "MS-DRG": "DR"}  # 837I HI qualifier per system
EXCLUDED_SYSTEMS: Final = ("modifier", "APC", "occurrence")
# The first two digits of the types of bill cartcode.model.Claim.setting calls inpatient: the claims
# `check` groups with the MS-DRG grouper (tests/formats/test_prefilter.py holds the two together).
INPATIENT_BILL_TYPES: Final = ("11", "12", "18", "21", "41", "65", "66", "86")
_NOT_ALNUM_AFTER: Final = "(?![0-9A-Za-z])"


def _char(ch: str) -> str:
    return f"[{ch.upper()}{ch.lower()}]" if ch.isalpha() else re.escape(ch)


def _trie(words: Iterable[str]) -> str:
    """A regex matching exactly `words`, factored as a trie so `re` never backtracks far."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        alts = [_char(ch) + render(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = "(?:" + "|".join(alts) + ")" if len(alts) > 1 or "" in node else alts[0]
        return body + ("?" if "" in node else "")

    return render(root)


def _spaced(text: str) -> str:
    """A note text in any case with any whitespace between its words."""
    return r"\s*".join("".join(_char(c) for c in word) for word in text.split())


def token_words(kb: KB) -> list[str]:
    """The literal tokens the regex matches as whole words (upper-case forms)."""
    words: set[str] = set()
    for row in kb.codes:
        if row.system in TOKEN_SYSTEMS:
            words.add(row.code.upper())
            if row.system == "ICD-10-CM":
                words.add(row.code.replace(".", "").upper())
    words.update(f"087{d}" for d in range(10))  # the whole 087X revenue family
    return sorted(words)


def inpatient_clm_branch() -> str:
    """The branch matching an 837I CLM of an inpatient type of bill (see the module docstring).

    CLM, its element separator, CLM01 to CLM04 (anything but that separator; CLM03 and CLM04 are
    empty in 5010), then CLM05: the facility code, then the end of the element or a component
    separator followed by any qualifier but ``B``. The common ``*`` separator is scanned with a
    plain class (fast); any other separator through a back-reference.

    The facility codes are those whose type of bill the model calls inpatient: the reader keeps
    a zero-padded code's last two characters (``011`` is 11) and appends CLM05-3, the model takes
    the first two digits after any leading zeros. So: a code that starts with an inpatient pair
    (``11``, ``111``), a zero-padded one that ends with one (``011``, ``0011``), and the odd one
    digit (``1``, ``01``: the frequency code makes up the pair, ``01`` + ``1`` is 11), read in
    full whatever its frequency. (The one-digit alternative first: it fails fastest on 837P's CLM05.)"""
    pair = _trie(INPATIENT_BILL_TYPES)
    facility = f"(?:0*[0-9]|{pair}[0-9A-Za-z]*|0[0-9A-Za-z]*?{pair})"
    # the facility code ends the element or the segment, or a composite goes on with a
    # component separator and a qualifier other than 837P's "B" (837I writes "A")
    after = r"(?:[^0-9A-Za-z](?![Bb](?![0-9A-Za-z]))|\Z)"
    star = r"\*[^*]*+\*[^*]*+\*[^*]*+\*[^*]*+\*"  # unrolled: about 10% faster than (?:...){4}
    other = r"(?P<clm_sep>[^*0-9A-Za-z])(?:(?:(?!(?P=clm_sep))[\s\S])*+(?P=clm_sep)){4}"
    return f"CLM(?:{star}|{other}){facility}{after}"


def build_pattern(kb: KB, *, x12: bool = False, inpatient: bool = False) -> re.Pattern[bytes]:
    """Compile the pre-filter for a KB (see the module docstring for what it matches).

    ``x12=True`` builds the variant for 837 bytes only. There CPT/HCPCS and revenue codes can
    only be where the X12 reader reads them: the procedure component of SV1-01 / SV2-02
    (qualifier HC or empty) and SV2-01. Anchoring them on ``V1`` / ``V2`` instead of on their
    first character spares the regex an attempt at every 0, 3, C and Q of the file (dates,
    amounts, ids, CLM...), about half its time; it also stops matching ZIP codes and amounts
    that look like codes. The JSON forms are left out.

    ``inpatient=True`` adds the branch that matches the CLM of every inpatient claim
    (:func:`inpatient_clm_branch`): the pre-filter batch uses with MS-DRG grouping on."""
    words = token_words(kb)
    procedures = sorted({r.code.upper() for r in kb.codes if r.system in ("CPT", "HCPCS")})
    revenue4 = [w for w in words if w.isdigit() and len(w) == 4 and w.startswith("0")]
    anchored = set(procedures) | set(revenue4) if x12 else set()
    by_first: dict[str, list[str]] = {}
    for word in words:
        if word not in anchored:
            by_first.setdefault(word[0], []).append(word[1:])
    branches: list[str] = []
    for first, rests in sorted(by_first.items()):
        variants = {first.upper(), first.lower()} if first.isalpha() else {first}
        for ch in sorted(variants):
            lit = re.escape(ch)
            branches.append(f"{lit}(?<![0-9A-Za-z]{lit}){_trie(rests)}{_NOT_ALNUM_AFTER}")

    quoted: set[str] = set()
    for system, qualifier in QUALIFIED.items():
        codes = sorted({row.code.upper() for row in kb.codes if row.system == system})
        if not codes:
            continue
        if system == "MS-DRG":
            quoted.update(c.lstrip("0") for c in codes)
        quoted.update(codes)
        branches.append(f"{qualifier}[^0-9A-Za-z]{_trie(codes)}{_NOT_ALNUM_AFTER}")
    # revenue codes as JSON may write them, 3 or 4 digits; and X12's SV201 with 3 digits (the
    # reader pads "874" to 0874), anchored on "SV2" so a bare 3-digit number never matches
    revenue3 = sorted(word[1:] for word in revenue4)
    for short in revenue3:
        quoted.update((short, "0" + short))
    sep = "[^0-9A-Za-z]"
    if x12:
        # SV1*HC:38228 / SV1*:38228; SV2*0874*HC:0540T; SV2*874*...
        composite = f"(?:HC)?{sep}{_trie(procedures)}{_NOT_ALNUM_AFTER}"
        branches.append(f"V1{sep}{composite}")
        branches.append(f"V2{sep}(?:0?{_trie(revenue3)}{_NOT_ALNUM_AFTER}|[0-9A-Za-z]*{sep}{composite})")
    else:
        if revenue3:
            branches.append(f"V2{sep}0?{_trie(revenue3)}{_NOT_ALNUM_AFTER}")
        branches.append('"' + _trie(sorted(quoted)) + '"')

    for text in sorted({row.code for row in kb.codes if row.system == "note"}):
        first = text[0]
        for ch in sorted({first.upper(), first.lower()}):
            branches.append(re.escape(ch) + _spaced(text)[len(_char(first)):])
    narrow: re.Pattern[bytes] | None = None
    if inpatient:
        narrow = _compile(branches)
        branches.append(inpatient_clm_branch())
    pattern = _compile(branches)
    if narrow is not None:
        _PROFESSIONAL[pattern] = narrow
    return pattern


def _compile(branches: list[str]) -> re.Pattern[bytes]:
    merged = _by_first_char(branches)
    pattern = re.compile(("(?:" + "|".join(merged) + ")").encode("ascii"))
    _register_split(pattern, merged)
    return pattern


# Per inpatient pre-filter, the same pattern without its inpatient branch (build_pattern).
_PROFESSIONAL: Final[dict[re.Pattern[bytes], re.Pattern[bytes]]] = {}


def professional_pattern(pattern: re.Pattern[bytes]) -> re.Pattern[bytes]:
    """The pattern to scan an 837P transaction with: an inpatient pre-filter without its inpatient
    branch (no professional CLM05 can match it, and the branch is one more pass over every buffer),
    any other pattern as it is."""
    return _PROFESSIONAL.get(pattern, pattern)


# Per compiled pre-filter, its top-level branches compiled alone (see match_starts).
_SPLIT: Final[dict[re.Pattern[bytes], list[tuple[bytes, re.Pattern[bytes]]]]] = {}


def _register_split(pattern: re.Pattern[bytes], branches: list[str]) -> None:
    """Record the branches of `pattern` for :func:`match_starts` when each starts with its own
    literal character (then at most one branch can match at any position)."""
    firsts = [b[0] for b in branches]
    if not branches or len(set(firsts)) != len(firsts) or not all(c.isalnum() or c == '"' for c in firsts):
        return
    if any(b[1:2] in ("*", "+", "?", "{") for b in branches):  # the first character must be a plain literal
        return
    _SPLIT[pattern] = [(b[0].encode("ascii"), re.compile(b.encode("ascii"))) for b in branches]


def match_starts(pattern: re.Pattern[bytes], buf: bytes) -> list[int]:
    """``[m.start() for m in pattern.finditer(buf)]``, faster for a pattern built here.

    `re` scans for a pattern that starts with a set of characters one position at a time and
    tries the pattern at every X12 letter B, D, E, V, X of the file; a pattern that starts with
    one literal character is scanned for in a tight loop, several times faster. So each branch
    (they start with distinct literal characters, so at most one matches at a position, with
    the same match as the whole pattern's) is searched alone and the next match is the earliest
    among them, searched again from the end of the last one: the same matches as finditer."""
    split = _SPLIT.get(pattern)
    if split is None:
        return [m.start() for m in pattern.finditer(buf)]
    subs = [sub for first, sub in split if first in buf]
    nexts: list[tuple[int, int, re.Pattern[bytes]]] = []
    for sub in subs:
        m = sub.search(buf)
        if m is not None:
            nexts.append((m.start(), m.end(), sub))
    if not nexts:
        return []
    if len(nexts) == 1:  # only one branch matches anywhere: its matches are the pattern's
        return [m.start() for m in nexts[0][2].finditer(buf)]
    # Every branch's own matches, merged by position. Where no two of them overlap this is what
    # the walk below finds: a branch's next match from any earlier position is the same match,
    # as matches at a position do not depend on where the search started. One overlap (a match
    # starting inside another branch's) and the walk decides. The walk costs a search, a min()
    # and a list per match; on a batch of CAR-T claims (a hit in every claim) that showed.
    spans: list[tuple[int, int]] = []
    for _, _, sub in nexts:
        spans.extend([m.span() for m in sub.finditer(buf)])
    spans.sort()
    merged: list[int] = []
    last_end = -1
    for start, end in spans:
        if start < last_end:
            return _walk_branches(buf, nexts)
        merged.append(start)
        last_end = end
    return merged


def _walk_branches(buf: bytes, nexts: list[tuple[int, int, re.Pattern[bytes]]]) -> list[int]:
    """The branches' matches as the whole pattern's finditer finds them: the earliest next
    match of any branch, then every branch searched again from its end."""
    out: list[int] = []
    while nexts:
        start, pos, _ = min(nexts)
        out.append(start)
        refreshed: list[tuple[int, int, re.Pattern[bytes]]] = []
        for item in nexts:
            if item[0] < pos:
                m = item[2].search(buf, pos)
                if m is not None:
                    refreshed.append((m.start(), m.end(), item[2]))
            else:
                refreshed.append(item)
        nexts = refreshed
    return out


def _by_first_char(branches: list[str]) -> list[str]:
    """Merge the branches that start with the same literal character (``BG...|BE...`` becomes
    ``B(?:G...|E...)``): `re` tries the top-level branches one by one at every candidate position,
    so fewer of them is faster (about 15% here). Order is kept; matches are unchanged."""
    groups: dict[str, list[str]] = {}
    for branch in branches:
        key = branch[0] if branch[0].isalnum() or branch[0] == '"' else branch
        groups.setdefault(key, []).append(branch[1:] if len(key) == 1 else branch)
    merged = []
    for key, rests in groups.items():
        if len(key) != 1:
            merged.extend(rests)
        elif len(rests) == 1:
            merged.append(key + rests[0])
        else:
            merged.append(key + "(?:" + "|".join(rests) + ")")
    return merged


@cache
def bundled_pattern() -> re.Pattern[bytes]:
    """The pre-filter for the bundled KB, built once per process."""
    from cartcode.kb.loader import load_kb

    return build_pattern(load_kb())


@cache
def bundled_x12_pattern(inpatient: bool = False) -> re.Pattern[bytes]:
    """The 837-only pre-filter for the bundled KB (see build_pattern's ``x12``); with `inpatient`,
    the variant that also reads every inpatient claim in full (for MS-DRG grouping)."""
    from cartcode.kb.loader import load_kb

    return build_pattern(load_kb(), x12=True, inpatient=inpatient)


def is_relevant(data: bytes, pattern: re.Pattern[bytes] | None = None) -> bool:
    """True when `data` (one claim's bytes) mentions anything CAR-T-relevant."""
    return (pattern or bundled_pattern()).search(data) is not None
