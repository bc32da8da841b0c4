"""X12 delimiters and the ISA: the few facts every other X12 module builds on.

The ISA segment is fixed width (106 bytes): the element separator is its 4th byte, the
repetition separator ISA11, the component separator ISA16, and the segment terminator the byte
right after ISA16. Line breaks after terminators are allowed and are not part of any segment.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

ISA_LENGTH: Final = 106
# Byte offsets of the 16 element separators inside a fixed-width ISA.
_ISA_SEPARATORS: Final = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
# Width of ISA01..ISA16 in the implementation guide.
_ISA_WIDTHS: Final = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
WHITESPACE: Final = b" \t\r\n"


class X12SyntaxError(ValueError):
    """An envelope that cannot be read (bad ISA, unknown delimiters). Carries the byte offset."""

    def __init__(self, message: str, offset: int) -> None:
        self.offset = offset
        super().__init__(message)


class Delimiters:
    """The four delimiters of an interchange, and the element and component separators as text.

    A plain class, not a NamedTuple: the scanner reads these attributes for every claim, and
    compiled code reads a plain class's attributes directly (a NamedTuple's go through
    descriptors, and a property decoded the bytes on every read)."""

    __slots__ = ("component", "component_s", "element", "element_s", "repetition", "segment")

    def __init__(self, element: bytes, component: bytes, repetition: bytes | None, segment: bytes) -> None:
        self.element = element
        self.component = component
        self.repetition = repetition
        self.segment = segment
        self.element_s = element.decode("latin-1")
        self.component_s = component.decode("latin-1")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Delimiters):
            return NotImplemented
        return (self.element, self.component, self.repetition, self.segment) == (
            other.element, other.component, other.repetition, other.segment
        )

    def __hash__(self) -> int:
        return hash((self.element, self.component, self.repetition, self.segment))

    def __repr__(self) -> str:
        return (f"Delimiters(element={self.element!r}, component={self.component!r}, "
                f"repetition={self.repetition!r}, segment={self.segment!r})")


class Isa(NamedTuple):
    delimiters: Delimiters
    end: int  # offset just past the ISA's segment terminator
    elements: list[str]  # ISA01..ISA16 (index 0 is "ISA")
    warnings: list[str]  # non-fatal problems (e.g. not fixed width)


def _is_delimiter(byte: bytes) -> bool:
    # Letters and digits occur in data; a space is data inside the fixed-width ISA fields.
    return len(byte) == 1 and not byte.isalnum() and byte != b" "


def parse_isa(data: bytes, pos: int) -> Isa:
    """Delimiters and elements of the ISA starting at `pos`.

    A fixed-width ISA is the norm. When the widths are off (a field one space short, as in
    imsweb's bad_first_line sample) the ISA is still split by its element separator, so the
    interchange can be read, and the deviation comes back as a warning for the caller to report.
    """
    if data[pos : pos + 3] != b"ISA":
        raise X12SyntaxError("expected an ISA segment", pos)
    if len(data) < pos + 4:
        raise X12SyntaxError("ISA is truncated", pos)
    element = data[pos + 3 : pos + 4]
    if not _is_delimiter(element):
        raise X12SyntaxError(f"unknown element separator {element!r} after ISA (byte 4 of the ISA)", pos)
    head = data[pos : pos + ISA_LENGTH]
    warnings: list[str] = []
    if len(head) == ISA_LENGTH and all(head[i : i + 1] == element for i in _ISA_SEPARATORS):
        fields = head[:105].split(element)
        if len(fields) != 17:
            raise X12SyntaxError("ISA element separator occurs inside an ISA field", pos)
        component = head[104:105]
        terminator = head[105:106]
        end = pos + ISA_LENGTH
    else:
        # Not fixed width: split on the separator and take the 16 elements.
        window = data[pos : pos + ISA_LENGTH + 64]
        fields = window.split(element, 16)
        if len(fields) < 17 or len(fields[16]) < 2:
            raise X12SyntaxError("ISA has fewer than 16 elements or no segment terminator after ISA16", pos)
        component = fields[16][:1]
        terminator = fields[16][1:2]
        fields[16] = component
        end = pos + sum(len(f) + 1 for f in fields[:16]) + 2
        for i, (field, width) in enumerate(zip(fields[1:], _ISA_WIDTHS, strict=True), start=1):
            if len(field) != width:
                warnings.append(f"ISA{i:02d} has {len(field)} characters, the fixed-width ISA needs {width}")
        if not warnings:
            warnings.append("ISA is not 106 bytes long")
    for name, byte in (("component separator (ISA16)", component), ("segment terminator", terminator)):
        if not _is_delimiter(byte) and byte not in (b"\n", b"\r"):
            raise X12SyntaxError(f"unknown {name} {byte!r}", pos)
    if len({element, component, terminator}) != 3:
        raise X12SyntaxError("element separator, component separator and segment terminator must differ", pos)
    rep = fields[11][:1]
    repetition = rep if _is_delimiter(rep) and rep not in (element, component, terminator) else None
    elements = [f.decode("latin-1") for f in fields]
    return Isa(Delimiters(element, component, repetition, terminator), end, elements, warnings)


def skip_whitespace(data: bytes, pos: int, end: int | None = None) -> int:
    stop = len(data) if end is None else end
    while pos < stop and data[pos] in WHITESPACE:
        pos += 1
    return pos


def segment_start_pattern(delims: Delimiters, tags: str) -> re.Pattern[bytes]:
    """A regex matching `terminator [line breaks] TAG element-separator` for the given tags.

    group(1) is the tag; the match starts at the terminator so that finditer never matches a tag
    inside data. The first segment after an ISA is handled by the callers (they start scanning at
    the ISA's own terminator).
    """
    t = re.escape(delims.segment)
    e = re.escape(delims.element)
    return re.compile(t + rb"[ \t\r\n]*(" + tags.encode() + rb")(?=" + e + b"|" + t + b")")
