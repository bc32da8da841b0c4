"""Compile cartcode's hot modules with mypyc, in place, and stamp the build.

    .venv/bin/python scripts/build_native.py [--force] [--strict] [--clean]

The modules are those listed in ``cartcode._native.MODULES`` (mypyc) and ``C_MODULES`` (C). Each
gets a compiled extension beside its source (``x12.cpython-311-x86_64-linux-gnu.so`` beside
``x12.py``), plus one shared library for the mypyc group (``native__mypyc.*.so``);
``src/cartcode/native.json`` records the SHA-256 of every source compiled. ``cartcode`` uses the
compiled modules only while that record matches the sources (see ``cartcode/native.py``), so an
edited source is never shadowed by an old build.

Up to date (same sources, same Python): does nothing. A failed build leaves no compiled module
behind (cartcode then runs from source) and exits 1 with ``--strict`` (the test setup), 0
otherwise (the demo setup: pure Python works, only slower). ``--clean`` removes the build.
Needs mypy (with mypyc), setuptools and a C compiler: the ``native`` extra and gcc.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))
os.environ["CARTCODE_PURE"] = "1"  # this script imports cartcode only for its module list
import cartcode._native as native  # noqa: E402

MYPY_INI = """\
[mypy]
strict = True
python_version = {pyver}
mypy_path = {src}
plugins = pydantic.mypy

[mypy-pyx12.*,pyspark.*,fhir.resources.*,pyarrow.*,pandas.*]
ignore_missing_imports = True
"""

SETUP_PY = """\
from mypyc.build import mypycify
from setuptools import Extension, setup

c_modules = [Extension(name, [source]) for name, source in {c_modules!r}]
setup(
    name="cartcode-native",
    ext_modules=mypycify({paths!r}, opt_level="3", group_name={group!r}) + c_modules,
    script_args=["build_ext", "--build-lib", "out", "--build-temp", "tmp", "--parallel", "2"],
)
"""


def built_files() -> list[Path]:
    """Every compiled file of ours under src/ (whatever Python built it)."""
    pkg = SRC / "cartcode"
    return sorted(p for p in pkg.rglob("*") if p.suffix in (".so", ".pyd") and p.is_file())


def clean() -> None:
    native.STAMP.unlink(missing_ok=True)  # first: no stamp, no compiled modules used
    for p in built_files():
        p.unlink()


def up_to_date() -> bool:
    if not native.STAMP.exists():
        return False
    stamp = json.loads(native.STAMP.read_text(encoding="utf-8"))
    digests = {m: native.source_digest(m) for m in native.BUILT}
    status = native.decide(stamp, digests, native.build_tag(), pure_env=False)
    return status.compiled and all(native.compiled_path(m) is not None for m in native.BUILT)


def build() -> None:
    digests = {m: native.source_digest(m) for m in native.BUILT}
    paths = [str(native.source_path(m)) for m in native.MODULES]
    c_modules = [(m, str(native.source_path(m))) for m in native.C_MODULES]
    with tempfile.TemporaryDirectory(prefix="cartcode-mypyc-") as tmp_s:
        tmp = Path(tmp_s)
        pyver = f"{sys.version_info.major}.{sys.version_info.minor}"
        (tmp / "mypy.ini").write_text(MYPY_INI.format(pyver=pyver, src=SRC), encoding="utf-8")
        setup_py = SETUP_PY.format(paths=paths, group=native.GROUP, c_modules=c_modules)
        (tmp / "setup.py").write_text(setup_py, encoding="utf-8")
        # run where no pyproject.toml is: setuptools would read ours and the mypy config there
        proc = subprocess.run([sys.executable, "setup.py"], cwd=tmp, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            raise RuntimeError(f"mypyc build failed:\n{tail}")
        out = tmp / "out"
        for so in sorted(out.rglob("*")):
            if so.is_file() and so.suffix in (".so", ".pyd"):
                dest = SRC / so.relative_to(out)
                if not dest.parent.is_dir():
                    raise RuntimeError(f"mypyc built {so.relative_to(out)}, which has no place under src/")
                shutil.copy2(so, dest)
    stamp = {
        "tag": native.build_tag(),
        "python": sys.version.split()[0],
        "modules": digests,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    # the stamp last: until it is written, the copied extensions are not used
    native.STAMP.write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true", help="rebuild even if up to date")
    ap.add_argument("--strict", action="store_true", help="exit 1 when the build fails")
    ap.add_argument("--clean", action="store_true", help="remove the compiled modules and stop")
    args = ap.parse_args()
    if args.clean:
        clean()
        print("cartcode native build removed: running from source")
        return 0
    if not args.force and up_to_date():
        print("cartcode native build: up to date")
        return 0
    clean()
    t0 = time.perf_counter()
    print(f"cartcode native build: compiling {len(native.MODULES)} modules with mypyc and "
          f"{len(native.C_MODULES)} in C (about 3 minutes)...")
    try:
        build()
    except (RuntimeError, OSError) as exc:
        clean()
        print(f"cartcode native build FAILED, running from source: {exc}", file=sys.stderr)
        return 1 if args.strict else 0
    print(f"cartcode native build: done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
