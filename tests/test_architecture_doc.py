"""docs/architecture.md names every package and module of src/cartcode (so the doc cannot drift)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "cartcode"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_every_package_and_module_is_in_the_architecture_doc() -> None:
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "checker" and "rules" in rel.parts:  # one rule a file: docs/rules.md lists them
            continue
        if path.name in ("__init__.py", "__main__.py", "py.typed"):
            name = f"{rel.parent.name}/" if rel.parent != Path(".") else None
        else:
            name = path.stem if path.stem.startswith("_") else path.name
        if name and name not in DOC and name.rstrip("/") + ".py" not in DOC:
            missing.append(str(rel))
    assert not missing, f"docs/architecture.md does not mention: {missing}"
