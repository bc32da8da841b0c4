"""`cartcode kb`: the KB edition, its previous edition, "sources reviewed through" and the review log;
`cartcode kb diff OLD NEW`: what changed between two editions.

OLD and NEW are KB data directories, git revisions (e.g. HEAD~3: the KB files are read with
`git show REV:src/cartcode/kb/data/<file>`) or the word `bundled` (the installed KB). Nothing here
uses the network; git runs only when a revision is given. Every failure is an input error (exit 2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cartcode.cli._recommend_cmd import OutputFormat
from cartcode.errors import InputError

if TYPE_CHECKING:
    from cartcode.kb.loader import KB

KB_PATH = "src/cartcode/kb/data"  # where the KB lives in the repository


def kb_info(kb: KB) -> dict[str, Any]:
    """The JSON of `cartcode kb`."""
    return {
        "edition": kb.edition, "previous_edition": kb.previous_edition, "as_of": kb.as_of.isoformat(),
        "as_of_means": "sources reviewed through", "title": kb.manifest.title,
        "review_log": [entry.model_dump(mode="json", exclude_none=True) for entry in kb.review_log],
    }


def _git(args: list[str], cwd: Path) -> str:
    git = shutil.which("git")
    if git is None:
        raise InputError("git is not installed, so a revision cannot be read; give a KB directory instead")
    try:
        done = subprocess.run([git, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise InputError(f"git {' '.join(args)} failed: {exc}") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise InputError(f"git {' '.join(args)}: {detail}")
    return done.stdout


def _repository() -> Path:
    """The git work tree holding the KB: the one the bundled KB lives in (editable install), else
    the current directory's."""
    from cartcode.kb.loader import bundled_kb_dir

    for start in (bundled_kb_dir(), Path.cwd()):
        try:
            return Path(_git(["rev-parse", "--show-toplevel"], start).strip())
        except InputError:
            continue
    raise InputError("not in a git repository, so a revision cannot be read; give a KB directory instead")


def kb_from_revision(revision: str, into: Path) -> KB:
    """The KB of a git revision: its data files written to `into`, then loaded and validated."""
    from cartcode.kb.loader import KBError, load_kb_from

    if revision.startswith("-"):
        raise InputError(f"{revision!r} is not a revision", where="OLD|NEW")
    repo = _repository()
    _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], repo)
    names = [n for n in _git(["ls-tree", "--name-only", f"{revision}:{KB_PATH}"], repo).splitlines()
             if n.endswith(".yaml")]
    if not names:
        raise InputError(f"revision {revision} has no KB files under {KB_PATH}", where=revision)
    into.mkdir(parents=True, exist_ok=True)
    for name in names:
        (into / name).write_text(_git(["show", f"{revision}:{KB_PATH}/{name}"], repo), encoding="utf-8")
    try:
        return load_kb_from(into)
    except KBError as exc:
        raise InputError(f"the KB of revision {revision} does not load: {exc}", where=revision) from None


def open_kb(spec: str, scratch: Path) -> KB:
    """A KB named on the command line: `bundled`, a directory, or a git revision."""
    from cartcode.kb.loader import KBError, load_kb_from

    if spec == "bundled":
        from cartcode.cli._recommend_cmd import bundled_kb

        return bundled_kb()
    path = Path(spec)
    if path.is_dir():
        try:
            return load_kb_from(path)
        except KBError as exc:
            raise InputError(f"the KB directory does not load: {exc}", where=spec) from None
    if path.exists():
        raise InputError("not a KB directory", where=spec)
    return kb_from_revision(spec, scratch)


def render_info(info: dict[str, Any]) -> None:
    echo = typer.echo
    echo(f"{info['title']}")
    echo(f"edition {info['edition']} (previous edition {info['previous_edition'] or 'none'})")
    echo(f"as of {info['as_of']}: sources reviewed through this date")
    if not info["review_log"]:
        echo("review log: none")
        return
    echo(f"review log ({len(info['review_log'])} topics):")
    for entry in info["review_log"]:
        sources = f" [{', '.join(entry['sources'])}]" if entry.get("sources") else ""
        echo(f"  {entry['searched']}  {entry['outcome']:<12}  {entry['topic']}: {entry['title']}{sources}")
        for fact in entry.get("found", []):
            echo(f"      found: {fact}")
        for fact in entry.get("not_found", []):
            echo(f"      not found: {fact}")


def _label(section: str, row: dict[str, Any]) -> str:
    if section == "codes":
        return f"{row['system']} {row['code']} ({row['period']})"
    if section == "policies":
        return f"{row['id']} ({row['period']}) = {row['value']!r}"
    if section == "review_log":
        return f"{row['topic']} ({row['searched']}, {row.get('outcome', '')})"
    if section == "payment rate tables":
        return f"{row['system']} {row['year']} ({row['id']}, {row['period']})"
    if section == "payment rates":
        qualifier = ", ".join(f"{k} {row[k]}" for k in ("drg", "apc", "code", "product") if k in row)
        qualifier = f" ({qualifier})" if qualifier else ""
        return f"{row['system']} {row['year']} {row['name']}{qualifier} = {row['value']} [{row['confidence']}]"
    return str(row.get("id", ""))


def render_diff(diff: dict[str, Any]) -> None:
    from cartcode.kb.diff import short

    echo = typer.echo
    old, new = diff["old"], diff["new"]
    echo(f"KB diff: {old['name']} (edition {old['edition']}, as of {old['as_of']}) -> "
         f"{new['name']} (edition {new['edition']}, as of {new['as_of']})")
    sections = [(name, diff[name]) for name in ("codes", "policies", "decisions", "sources", "products", "review_log")]
    rates = diff.get("payment_rates") or {}
    sections += [("payment rate tables", rates.get("tables")), ("payment rates", rates.get("rates"))]
    for section, part in sections:
        if part is None:
            continue
        counts = f"{len(part['added'])} added, {len(part['removed'])} removed, {len(part['changed'])} changed"
        echo(f"\n{section}: {counts}")
        for row in part["added"]:
            echo(f"  + {_label(section, row)}")
        for row in part["removed"]:
            echo(f"  - {_label(section, row)}")
        for row in part["changed"]:
            if row["change"] != "changed":
                echo(f"  ~ {_label(section, row)}: {row['change']}")
                continue
            echo(f"  ~ {_label(section, row)}")
            for change in row["changes"]:
                if "added" in change:
                    echo(f"      {change['field']}: +{short(change['added'])} -{short(change['removed'])}")
                else:
                    echo(f"      {change['field']}: {short(change['old'])} -> {short(change['new'])}")


def register(app: typer.Typer) -> None:
    kb_app = typer.Typer(
        name="kb", no_args_is_help=False, add_completion=False,
        help="The KB edition, previous edition, 'sources reviewed through' date and review log; "
             "`kb diff OLD NEW` shows what changed between editions.",
    )

    @kb_app.callback(invoke_without_command=True)
    def kb(
        ctx: typer.Context,
        format: Annotated[OutputFormat, typer.Option("--format", help="text or json")] = OutputFormat.text,
    ) -> None:
        """The KB edition, previous edition, as-of date (sources reviewed through) and review log."""
        if ctx.invoked_subcommand is not None:
            return
        from cartcode.cli._recommend_cmd import bundled_kb

        info = kb_info(bundled_kb())
        if format == OutputFormat.json:
            typer.echo(json.dumps(info, indent=2))
        else:
            render_info(info)

    @kb_app.command()
    def diff(
        old: Annotated[str, typer.Argument(help="KB directory, git revision (e.g. HEAD~3) or 'bundled'.")],
        new: Annotated[str, typer.Argument(help="KB directory, git revision or 'bundled'.")] = "bundled",
        format: Annotated[OutputFormat, typer.Option("--format", help="text or json")] = OutputFormat.text,
    ) -> None:
        """What changed between two KB editions: codes (periods, descriptors, labels, statuses,
        sources), policies, decisions, sources, products, the review log and the payment rate
        tables (rates added, removed and changed per table)."""
        from cartcode.kb.diff import diff_kbs

        with tempfile.TemporaryDirectory(prefix="cartcode-kb-") as scratch:
            old_kb = open_kb(old, Path(scratch) / "old")
            new_kb = open_kb(new, Path(scratch) / "new")
            result = diff_kbs(old_kb, new_kb, old_name=old, new_name=new)
        if format == OutputFormat.json:
            typer.echo(json.dumps(result, indent=2, default=str))
        else:
            render_diff(result)

    app.add_typer(kb_app, name="kb")
