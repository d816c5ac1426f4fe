"""Build hook (hatchling; not shipped in the wheel): compiles recon/validate/_signatures.c.

That module is the signature walker behind ``recon validate``'s speed.

The wheel (and an editable install) gets the compiled module when a C compiler is there; without
one the build goes on and validate uses its slower, equally exact path (recon.validate.signatures).
setuptools is used only to find and drive the platform's compiler (gcc, clang or MSVC).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("recon") / "validate" / "_signatures.c"
MODULE = "recon.validate._signatures"


class CompileSignatures(BuildHookInterface):  # type: ignore[misc]
    """Compiles the signature walker into the wheel, or next to its source for an editable install."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        with tempfile.TemporaryDirectory() as tmp:
            built = _compile(root, Path(tmp))
            if built is None:
                return
            name = built.name
            if version == "editable":
                # an editable install imports recon from the source tree: the module goes beside its source
                shutil.copy2(built, root / SOURCE.parent / name)
                return
            kept = root / "build" / name  # git-ignored
            kept.parent.mkdir(exist_ok=True)
            shutil.copy2(built, kept)
        build_data["force_include"][str(kept)] = str(SOURCE.parent / name)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True


def _compile(root: Path, tmp: Path) -> Path | None:
    try:
        from setuptools import Distribution, Extension
        from setuptools.command.build_ext import build_ext

        digest = source_sha256(root / SOURCE)
        extension = Extension(
            MODULE,
            [str(SOURCE)],
            extra_compile_args=_flags(),
            define_macros=[("RECON_SOURCE_SHA256", f'"{digest}"')],
        )
        distribution = Distribution({"name": "recon-signatures", "ext_modules": [extension]})
        command = build_ext(distribution)
        command.build_lib = str(tmp / "lib")
        command.build_temp = str(tmp / "temp")
        command.ensure_finalized()
        command.run()
    except Exception as exc:  # no compiler, no headers: the pure path still works
        print(f"recon: {SOURCE} not compiled ({exc}); validate takes its slower path", file=sys.stderr)
        return None
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    built = tmp / "lib" / "recon" / "validate" / f"_signatures{suffix}"
    return built if built.is_file() else None


def source_sha256(path: Path) -> str:
    """The digest compiled into the module: recon.validate.signatures compares it with the source's."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _flags() -> list[str]:
    if sysconfig.get_platform().startswith("win"):
        return ["/O2"]
    return ["-O3", "-std=c99", "-Wall", "-Wextra"]
