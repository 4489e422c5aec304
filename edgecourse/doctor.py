"""`edgecourse doctor`: say what is installed, what is missing and how to install it."""

import importlib.metadata
import shutil
import subprocess
import sys
from dataclasses import dataclass

APT = "sudo apt-get install -y"


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


def package_version(name: str) -> Finding:
    """Report the installed version of a Python distribution."""
    try:
        return Finding(name, True, importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        return Finding(name, False, "missing: run `make setup` (pip install -e '.[dev]')")


def import_order() -> Finding:
    """Check in a fresh process that the stack imports together through edgecourse."""
    code = "import edgecourse; tf = edgecourse.tf(); import torchvision; print(tf.__version__)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if run.returncode == 0:
        return Finding("import order", True, "torch -> torchvision -> tensorflow imports cleanly")
    return Finding("import order", False,
                   f"importing the stack failed (exit {run.returncode}): {run.stderr.strip()[-300:]}; "
                   "always `import edgecourse` before tensorflow")


def tflm_runtime() -> Finding:
    """Check that the real TFLM interpreter loads."""
    try:
        from tflite_micro import runtime  # noqa: F401
    except Exception as error:  # any import failure is the finding
        return Finding("tflm runtime", False, f"{error}: pip install tflite-micro (pinned in pyproject.toml)")
    return Finding("tflm runtime", True, "tflite_micro.runtime imports")


def tool(command: str, package: str, version_flag: str = "--version") -> Finding:
    """Report a command-line tool's first version line, or how to install it."""
    path = shutil.which(command)
    if path is None:
        return Finding(command, False, f"not found: {APT} {package}")
    run = subprocess.run([path, version_flag], capture_output=True, text=True, timeout=60)
    first = (run.stdout or run.stderr).strip().splitlines()
    return Finding(command, run.returncode == 0, first[0] if first else path)


def findings() -> list[Finding]:
    """Return every check the course relies on."""
    packages = ["torch", "torchvision", "tensorflow-cpu", "tflite-micro", "nbgrader", "jupyterlab",
                "numpy", "scikit-learn", "matplotlib"]
    return [
        Finding("python", sys.version_info >= (3, 11), sys.version.split()[0]),
        *(package_version(p) for p in packages),
        import_order(),
        tflm_runtime(),
        tool("gcc", "gcc"),
        tool("arm-none-eabi-gcc", "gcc-arm-none-eabi libnewlib-arm-none-eabi"),
        tool("arm-none-eabi-size", "binutils-arm-none-eabi"),
        tool("qemu-system-arm", "qemu-system-arm"),
        tool("chromium", "chromium chromium-driver"),
    ]


def main() -> int:
    """Print the report; return 1 when anything is missing."""
    results = findings()
    for f in results:
        print(f"{'ok ' if f.ok else 'MISSING'}  {f.name:<18} {f.detail}")
    missing = [f.name for f in results if not f.ok]
    if missing:
        print(f"\n{len(missing)} problem(s): {', '.join(missing)}. Install what is listed above.")
        return 1
    print("\neverything the course needs is here")
    return 0
