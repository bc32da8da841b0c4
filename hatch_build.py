"""Build hook: compile cartcode's hot path with mypyc when a wheel is built (as black and mypy do).

``pip install .``, ``python -m build`` and the wheel sent to Spark/Databricks all come through
here, so every install from a wheel runs compiled. The modules are the globs in
``[tool.hatch.build.targets.wheel.hooks.custom] compile`` (pyproject.toml); each gets an
extension module beside its ``.py`` in the wheel, plus one shared library for the group
(``cartcode/_hotpath__mypyc.*.so``). The ``.py`` files ship too and stay the source of truth.

No compiler, or ``CARTCODE_BUILD_PURE=1``: a pure-Python wheel (same answers, slower), with a
warning; ``CARTCODE_BUILD_STRICT=1`` makes a failed compile fail the build instead (the test
setup uses it, so CI never tests a silently pure build). Editable installs (``pip install -e``)
are never compiled: an edit to a ``.py`` must take effect at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

GROUP = "cartcode._hotpath"  # mypyc's shared library: cartcode/_hotpath__mypyc.<tag>.so

MYPY_INI = """\
[mypy]
python_version = {pyver}
mypy_path = {src}
ignore_missing_imports = True
follow_imports = silent
"""

SETUP_PY = """\
from mypyc.build import mypycify
from setuptools import setup

setup(
    name="cartcode-hotpath",
    ext_modules=mypycify({paths!r}, opt_level="3", group_name={group!r}),
    script_args=["build_ext", "--build-lib", "out", "--build-temp", "tmp", "--parallel", "2"],
)
"""


class MypycBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        if os.environ.get("CARTCODE_BUILD_PURE") == "1":
            self.app.display_warning("cartcode: CARTCODE_BUILD_PURE=1, building a pure-Python wheel")
            return
        root = Path(self.root)
        sources = sorted({p for pattern in self.config.get("compile", []) for p in root.glob(pattern)})
        if not sources:
            raise RuntimeError("cartcode build hook: no module matches the `compile` globs")
        try:
            built = self._compile(root, sources)
        except (RuntimeError, OSError) as exc:
            if os.environ.get("CARTCODE_BUILD_STRICT") == "1":
                raise
            self.app.display_warning(f"cartcode: mypyc compile failed, building a pure-Python wheel ({exc})")
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        for path, dest in built.items():
            build_data["force_include"][str(path)] = dest

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    def _compile(self, root: Path, sources: list[Path]) -> dict[Path, str]:
        src = root / "src"
        tmp = Path(tempfile.mkdtemp(prefix="cartcode-mypyc-"))
        pyver = f"{sys.version_info.major}.{sys.version_info.minor}"
        (tmp / "mypy.ini").write_text(MYPY_INI.format(pyver=pyver, src=src), encoding="utf-8")
        paths = [str(p) for p in sources]
        (tmp / "setup.py").write_text(SETUP_PY.format(paths=paths, group=GROUP), encoding="utf-8")
        self.app.display_info(f"cartcode: compiling {len(paths)} modules with mypyc (2-4 minutes)...")
        env = {**os.environ, "MYPYPATH": str(src)}
        proc = subprocess.run([sys.executable, "setup.py"], cwd=tmp, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
            raise RuntimeError(f"mypyc build failed:\n{tail}")
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        out = tmp / "out"
        built: dict[Path, str] = {}
        # The artifacts stay in the temporary directory (never in the source tree, so a checkout
        # never holds a stale build) until the wheel is written; finalize() removes it.
        self._tmp = tmp
        for so in sorted(out.rglob(f"*{suffix}")):
            rel = so.relative_to(out)
            if rel.parts[0] != "cartcode":
                raise RuntimeError(f"mypyc built {rel}, which has no place in the package")
            built[so] = str(rel)
        if not built:
            raise RuntimeError("mypyc produced no extension module")
        return built
