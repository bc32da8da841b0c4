"""The mypyc build of the hot path: used only when it matches its sources, same answers as source.

The test command builds it (scripts/setup.sh --test runs scripts/build_native.py --strict), so
these tests see the compiled modules; a subprocess with CARTCODE_PURE=1 runs from source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench import synth837
from tests.shared_data import SHARED

import cartcode._native as native

ROOT = Path(__file__).resolve().parents[1]
DIGESTS = {m: f"digest-{m}" for m in native.MODULES}
TAG = ".cpython-311-x86_64-linux-gnu.so"


def stamp(**over: object) -> dict[str, object]:
    return {"tag": TAG, "modules": dict(DIGESTS), **over}


def test_decide_uses_a_build_that_matches_every_source() -> None:
    assert native.decide(stamp(), DIGESTS, TAG, pure_env=False).compiled


@pytest.mark.parametrize(
    ("given", "pure_env", "reason"),
    [
        (stamp(), True, "CARTCODE_PURE=1"),
        (None, False, "no compiled build"),
        (stamp(tag=".cpython-312-x86_64-linux-gnu.so"), False, "compiled for .cpython-312"),
        (stamp(modules={**DIGESTS, "cartcode.checker._engine": "old"}), False, "source changed since the compiled build: "
         "cartcode.checker._engine"),
        (stamp(modules={m: d for m, d in DIGESTS.items() if m != "cartcode.checker._engine"}), False, "other modules"),
    ],
)
def test_decide_falls_back_to_source(given: dict[str, object] | None, pure_env: bool, reason: str) -> None:
    status = native.decide(given, DIGESTS, TAG, pure_env=pure_env)
    assert not status.compiled
    assert reason in status.reason


def test_the_test_run_uses_the_compiled_build() -> None:
    # the test command builds it; if this fails the other tests ran from source only
    assert native.STATUS.compiled, f"{native.STATUS.reason}: run .venv/bin/python scripts/build_native.py"
    import cartcode.formats.x12._reader as x12

    assert Path(x12.__file__).suffix in (".so", ".pyd")


def _run(code: str, pure: bool) -> str:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    env.pop(native.PURE_ENV, None)
    if pure:
        env[native.PURE_ENV] = "1"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return proc.stdout


def test_source_run_loads_every_listed_module_from_its_py_file() -> None:
    code = (
        "import importlib, json, cartcode._native as n\n"
        "from cartcode.formats import _fastbuild as fastbuild\n"
        "files = {m: importlib.import_module(m).__file__ for m in n.MODULES}\n"
        "try:\n"
        "    importlib.import_module('cartcode._modelnew')\n"
        "    c_module = 'imported'\n"
        "except ImportError:\n"
        "    c_module = 'not found'\n"
        "print(json.dumps({'files': files, 'c_module': c_module, 'new_model': fastbuild.new_model.__name__,\n"
        "                  'python': fastbuild.new_model is fastbuild._new_model_py}))"
    )
    pure = json.loads(_run(code, pure=True))
    assert len(pure["files"]) == len(native.MODULES) > 40  # the hot path and every rule
    assert all(f.endswith(".py") for f in pure["files"].values()), pure["files"]
    assert pure["c_module"] == "not found" and pure["python"]
    compiled = json.loads(_run(code, pure=False))
    assert not any(f.endswith(".py") for f in compiled["files"].values()), compiled["files"]
    assert compiled["c_module"] == "imported" and not compiled["python"]


def test_the_c_model_builder_makes_the_same_models_as_the_python_one() -> None:
    from cartcode.model import Claim, ClaimSource, Coded, Location
    from cartcode.formats import _fastbuild as fastbuild

    assert fastbuild.new_model is not fastbuild._new_model_py  # the compiled build is in use
    loc = {"file": "f", "path": None, "segment": 3, "line": 3, "loop": "2300", "segment_id": "CLM",
           "element": "CLM01", "offset": 120}
    for make in (fastbuild.new_model, fastbuild._new_model_py):
        a = make(Location, dict(loc), {"file", "segment"})
        coded = make(Coded, {"system": "CPT", "code": "38228", "loc": a}, {"system", "code", "loc"})
        assert a == Location(**loc) and a.model_fields_set == {"file", "segment"}
        assert coded.model_dump() == Coded(system="CPT", code="38228", loc=Location(**loc)).model_dump()
        assert a.__pydantic_extra__ is None and a.__pydantic_private__ is None
        with pytest.raises(ValueError):
            a.segment = 4  # still frozen: assignment goes through pydantic
    with pytest.raises(TypeError):
        fastbuild.new_model(Location, [], set())  # values must be a dict
    claim = fastbuild.minimal_claim("C1", "professional", "x12", "f.837", 0)
    assert claim == Claim(id="C1", kind="professional", format="x12", source=ClaimSource(file="f.837", index=0))


def test_the_c_location_builder_makes_the_same_locations_as_the_python_one() -> None:
    """new_location keeps the fields as instance attributes, not a dict of their own: from the
    outside (``__dict__`` and its order, fields set, JSON, equality, hash, copy, pickle) it is
    the Python fallback's Location."""
    import pickle

    from cartcode.model import Location
    from cartcode.formats import _fastbuild as fastbuild

    assert fastbuild.new_location is not fastbuild._new_location_py  # the compiled build is in use
    made = []
    for make in (fastbuild.new_location, fastbuild._new_location_py):
        fields = {"file", "segment", "line", "loop", "segment_id", "element", "offset"}
        made.append(make(Location, fields, "f.837", 31, 30, "2400", "SV1", "SV101-2", 1200))
    c, py = made
    assert type(c) is Location and list(c.__dict__.items()) == list(py.__dict__.items())
    assert c.model_fields_set == py.model_fields_set and c.model_dump_json() == py.model_dump_json()
    assert c == py and hash(c) == hash(py) and c.segment == 31 and c.path is None
    assert pickle.loads(pickle.dumps(c)) == py and c.model_copy() == py
    assert c.model_copy(update={"segment": 32}).segment == 32 and c.segment == 31
    with pytest.raises(ValueError):
        c.segment = 4  # still frozen
    with pytest.raises(TypeError):
        fastbuild.new_location(Location, set(), "f")  # nine arguments


def test_compiled_and_source_give_the_same_answers(tmp_path: Path) -> None:
    """The CAR-T examples and a synthetic batch checked both ways: the same JSON."""
    synth = synth837.write(tmp_path / "synth.837", 600, cart_fraction=0.5)
    files = sorted(str(p) for kind in ("institutional", "professional") for p in (SHARED / "x12" / kind).iterdir())
    files += [str(p) for p in sorted((ROOT / "examples" / "claims").glob("*.json"))]
    files.append(str(synth))
    code = (
        "import json, sys\n"
        "from cartcode.checker._engine import check_files\n"
        "from cartcode.batch._run import iter_columns\n"
        "from pathlib import Path\n"
        f"files = {files!r}\n"
        "report = check_files(files)\n"
        "rows = [[c.file, c.index, c.claim_id, c.status, c.error, c.finding_count, c.findings]\n"
        "        for c in iter_columns(Path(files[-1]))]\n"
        "print(json.dumps({'report': report.model_dump(mode='json'), 'rows': rows}, sort_keys=True, default=str))"
    )
    compiled, source = _run(code, pure=False), _run(code, pure=True)
    assert compiled == source
    answer = json.loads(compiled)
    assert len(answer["report"]["claims"]) > 600


def test_version_says_which_build_is_in_use() -> None:
    code = "import sys; sys.argv = ['cartcode', '--version']; from cartcode.cli import main; main()"
    assert "compiled (mypyc)" in _run(code, pure=False)
    pure = _run(code, pure=True)
    assert pure.startswith("cartcode ") and "KB edition" in pure and "from source (CARTCODE_PURE=1)" in pure
