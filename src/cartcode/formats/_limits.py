"""The limits the readers and `check` enforce on hostile or broken input (docs/security.md).

Every limit has a default here, an environment variable, and (for `check`) a command-line flag.
The readers ask :func:`current` when they start reading, so a change takes effect for the next
file. Input beyond a limit is never a traceback: a file that cannot be read at all is an
:class:`~cartcode.errors.InputError` (exit 2) naming the file and the place; a claim that breaks a
limit fails alone, named and located.

=========================  ===============================  ======================================
limit                      environment variable             default
=========================  ===============================  ======================================
max_input_bytes            CARTCODE_MAX_INPUT_BYTES         1 GiB: a file `check` reads whole, stdin
max_json_depth             CARTCODE_MAX_JSON_DEPTH          100 nested arrays/objects
max_ndjson_line_bytes      CARTCODE_MAX_NDJSON_LINE_BYTES   64 MiB: one NDJSON (FHIR) line
max_segment_bytes          CARTCODE_MAX_SEGMENT_BYTES       1 MiB: one X12 segment
max_number_digits          CARTCODE_MAX_NUMBER_DIGITS       15 digits before the decimal point
allow_special_files        CARTCODE_ALLOW_SPECIAL_FILES     off: `check` reads regular files only
=========================  ===============================  ======================================
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from typing import Any

from cartcode.errors import InputError

# Above this nesting Python's own JSON parser fails (its recursion limit): a configured depth
# is capped here, whatever the setting.
JSON_DEPTH_CEILING = 800
# Python refuses to turn longer digit strings into int (sys.get_int_max_str_digits).
INT_DIGITS_CEILING = 4300


@dataclass(frozen=True, slots=True)
class Limits:
    max_input_bytes: int = 1 << 30
    max_json_depth: int = 100
    max_ndjson_line_bytes: int = 64 << 20
    max_segment_bytes: int = 1 << 20
    max_number_digits: int = 15
    allow_special_files: bool = False


DEFAULTS = Limits()
ENV: dict[str, str] = {f.name: f"CARTCODE_{f.name.upper()}" for f in dataclasses.fields(Limits)}
_current: Limits | None = None


def from_env(environ: Mapping[str, str] | None = None) -> Limits:
    """The defaults with the environment's overrides; a malformed value is a usage error."""
    env = os.environ if environ is None else environ
    values: dict[str, int | bool] = {}
    for f in dataclasses.fields(Limits):
        raw = env.get(ENV[f.name])
        if raw is None or not raw.strip():
            continue
        text = raw.strip().lower()
        if f.name == "allow_special_files":
            if text not in ("1", "0", "true", "false", "yes", "no"):
                raise InputError("expected 1/0, true/false or yes/no", where=ENV[f.name])
            values[f.name] = text in ("1", "true", "yes")
            continue
        if not text.isdigit() or int(text) < 1:
            raise InputError("expected a positive whole number", where=ENV[f.name])
        values[f.name] = int(text)
    return dataclasses.replace(DEFAULTS, **values)  # type: ignore[arg-type]


def current() -> Limits:
    """The limits in force: set by :func:`use`, else read once from the environment."""
    global _current
    if _current is None:
        _current = from_env()
    return _current


def set_current(limits: Limits | None) -> None:
    """Put `limits` in force (None: read the environment again on next use)."""
    global _current
    _current = limits


@contextlib.contextmanager
def use(**changes: int | bool) -> Iterator[Limits]:
    """The current limits with `changes`, in force inside the block (tests, front ends)."""
    before = _current
    limits = dataclasses.replace(current(), **changes)  # type: ignore[arg-type]
    set_current(limits)
    try:
        yield limits
    finally:
        set_current(before)


# -- JSON ----------------------------------------------------------------------------------------
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_DELTA = [0] * 256
for _b in b"[{":
    _DELTA[_b] = 1
for _b in b"]}":
    _DELTA[_b] = -1
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth_problem(data: bytes, limit: int | None = None) -> str | None:
    """None when `data` (JSON text) nests at most `limit` arrays/objects deep, else a message
    naming the line and column where it goes deeper. Strings are skipped; the scan is in C but
    for the one pass that locates the place in a file already known to be too deep."""
    depth = min(limit if limit is not None else current().max_json_depth, JSON_DEPTH_CEILING)
    if data.count(b"[") + data.count(b"{") <= depth:
        return None
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if not brackets or max(accumulate(map(_DELTA.__getitem__, brackets))) <= depth:
        return None
    level = 0
    for m in _TOKEN.finditer(data):
        byte = data[m.start()]
        if byte in b"[{" and m.end() - m.start() == 1:
            level += 1
            if level > depth:
                p = m.start()
                line = data.count(b"\n", 0, p) + 1
                column = p - (data.rfind(b"\n", 0, p) + 1) + 1
                return f"JSON nested deeper than {depth} levels at line {line} column {column}"
        elif byte in b"]}" and m.end() - m.start() == 1:
            level -= 1
    return f"JSON nested deeper than {depth} levels"


def safe_int(raw: str) -> int | Decimal:
    """`parse_int` for json.loads: an int, or a Decimal for a digit string Python will not make an
    int of (the readers refuse it as out of range instead of failing the whole file)."""
    return int(raw) if len(raw) < INT_DIGITS_CEILING else Decimal(raw)


def number_in_range(value: Decimal, limit: int | None = None) -> bool:
    """A finite number with at most `max_number_digits` digits before the decimal point and a
    sane exponent: what a quantity or an amount on a claim can be."""
    if not value.is_finite():
        return False
    digits = limit if limit is not None else current().max_number_digits
    if value.is_zero():
        return value.as_tuple().exponent >= -100  # type: ignore[operator]
    return value.adjusted() < digits and value.as_tuple().exponent >= -100  # type: ignore[operator]


class JsonProblem(ValueError):
    """JSON that cannot be read, with a message naming the place (line, column) and no value."""


def empty_file(file: str) -> InputError:
    """The one error every reader gives for an empty (or blank) file."""
    return InputError("the file is empty: there is no claim in it", where=file)


def is_blank(data: bytes) -> bool:
    return not data.strip(b"\xef\xbb\xbf \t\r\n")


def parse_json(
    data: bytes, *, parse_float: Callable[[str], Any] | None = None,
    parse_int: Callable[[str], Any] = safe_int, depth: int | None = None,
) -> Any:
    """json.loads within the limits: too deep, not UTF-8 or not JSON is a :class:`JsonProblem`."""
    problem = json_depth_problem(data, depth)
    if problem is not None:
        raise JsonProblem(problem)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonProblem(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text, parse_float=parse_float, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise JsonProblem("JSON nested too deeply to read") from None
    except ValueError as exc:  # a number Python will not convert
        raise JsonProblem(f"not readable JSON ({type(exc).__name__})") from None
