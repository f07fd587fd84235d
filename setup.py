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
PARTS, TOOLKIT_TREE = TOOLKIT["TOOLKIT_PARTS"], TOOLKIT["toolkit_tree"]


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
            if not source.is_dir():
                shutil.copy2(source, target / part)
                continue
            # The files a bundle's toolkit carries (toolkit_parts.toolkit_tree), no others.
            for path in TOOLKIT_TREE(source):
                copy = target / part / path.relative_to(source)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)


setup(cmdclass={"build_py": BuildPyWithToolkit})
