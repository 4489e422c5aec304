"""Does the package keep its three rooms apart, and its root and firmware tools light?"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "edgecourse"
# room -> rooms it must never import (at module level or inside a function)
FORBIDDEN = {"grading": ("lab", "deploy", "bench"), "lab": ("deploy", "grading", "bench"),
             "deploy": ("grading", "bench")}


def imported_modules(path: Path) -> set[str]:
    """Return every module name a file imports, wherever the import statement sits."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_import_finder_sees_lazy_imports(tmp_path):
    """Does the checker find an import hidden inside a function (so the next test can fail)?"""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from edgecourse.deploy import runtimes\n")
    assert "edgecourse.deploy.runtimes" in imported_modules(source)


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_rooms_import_only_downwards(room):
    """Does no module of a room import a room it must not depend on?"""
    offenders = []
    for path in sorted((PACKAGE / room).rglob("*.py")):
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] == "edgecourse" and len(parts) > 1 and parts[1] in FORBIDDEN[room]:
                offenders.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert not offenders, "imports against the layout:\n" + "\n".join(offenders)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_package_root_imports_nothing_heavy():
    """Does `import edgecourse` leave torch, tensorflow and nbgrader unimported?"""
    loaded = _modules_after("import edgecourse")
    assert not {"torch", "tensorflow", "nbgrader", "numpy"} & loaded


def test_firmware_command_needs_neither_torch_nor_nbgrader():
    """Does `python -m edgecourse firmware --help` run without importing torch or nbgrader?"""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "edgecourse", "firmware",
                             "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "edgecourse.deploy.firmware.commands" in imported
    assert not {"torch", "tensorflow", "nbgrader"} & imported


def test_tensorflow_comes_after_torchvision():
    """Does edgecourse.tf() import torch and torchvision first, so both can be used after it?"""
    loaded = _modules_after("import edgecourse\ntf = edgecourse.tf()\nimport torchvision")
    assert {"torch", "torchvision", "tensorflow"} <= loaded
