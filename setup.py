"""The wheel carries the toolkit (roles, playbooks, inventory …) as package data of
airgapctl.bundle_build, copied at build time, so `bundle build` needs no checkout and the
package holds no link into the project tree. Everything else is in pyproject.toml."""

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
TOOLKIT = runpy.run_path(str(HERE / "airgapctl" / "bundle_build" / "toolkit_parts.py"))
PARTS, CARRIED = TOOLKIT["TOOLKIT_PARTS"], TOOLKIT["carried"]
CACHES = shutil.ignore_patterns("__pycache__", "*.pyc")


def not_carried(directory: str, names: list[str]) -> set[str]:
    """Caches, and files holding sealed credentials (toolkit_parts.carried)."""
    skipped = set(CACHES(directory, names))
    return skipped | {
        n for n in names if n not in skipped and Path(directory, n).is_file() and not CARRIED(Path(directory, n))
    }


class BuildPyWithToolkit(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's own parts
        target = Path(self.build_lib, "airgapctl", "bundle_build", "toolkit")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for part in PARTS:
            source = HERE / part
            if source.is_dir():
                shutil.copytree(source, target / part, ignore=not_carried)
            else:
                shutil.copy2(source, target / part)


setup(cmdclass={"build_py": BuildPyWithToolkit})
