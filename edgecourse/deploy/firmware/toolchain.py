"""Build and run generated C: gcc on the host, arm-none-eabi-gcc for a Cortex-M4, QEMU.

Every tool is looked up on PATH first; a missing one is a one-line error that says which Debian
package to install. QEMU runs the ELF on the mps2-an386 board (Cortex-M4) with semihosting, so
the program's printf reaches our stdout and its exit code ends the emulator.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecourse.deploy.firmware.templating import runtime_text

HOST_CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror")
M4_CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-mcpu=cortex-m4", "-mthumb",
             "-ffunction-sections", "-fdata-sections")
M4_LDFLAGS = ("--specs=rdimon.specs", "-nostartfiles", "-Wl,--gc-sections")
QEMU_MACHINE = ("-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
                "-semihosting-config", "enable=on,target=native")
_PACKAGES = {"gcc": "gcc", "g++": "g++", "arm-none-eabi-gcc": "gcc-arm-none-eabi",
             "arm-none-eabi-size": "binutils-arm-none-eabi",
             "qemu-system-arm": "qemu-system-arm"}


def require_tool(name: str) -> str:
    """Return the path of a build tool, or raise RuntimeError naming the package to install."""
    path = shutil.which(name)
    if path is None:
        package = _PACKAGES.get(name, name)
        extra = " libnewlib-arm-none-eabi" if name.startswith("arm-none-eabi") else ""
        raise RuntimeError(f"{name} not found on PATH: sudo apt-get install {package}{extra}")
    return path


def _run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed (exit {result.returncode}):\n"
                           f"{(result.stderr or result.stdout).strip()[-2000:]}")
    return result


def _sources(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.c") if p.name != "startup_cm4.c")


def build_host(directory: Path, output: str = "model_host") -> Path:
    """Compile every .c in the directory with the host gcc (-Wall -Wextra -Werror)."""
    directory = Path(directory)
    _run([require_tool("gcc"), *HOST_CFLAGS, "-o", output, *_sources(directory)], directory)
    return directory / output


def build_cortex_m4(directory: Path, output: str = "model_m4.elf") -> Path:
    """Compile the directory's C for a Cortex-M4 (QEMU mps2-an386): start-up, linker script."""
    directory = Path(directory)
    for name in ("startup_cm4.c", "cortex_m4.ld"):
        (directory / name).write_text(runtime_text(name))
    _run([require_tool("arm-none-eabi-gcc"), *M4_CFLAGS, "-fstack-usage", *M4_LDFLAGS,
          "-T", "cortex_m4.ld", "-o", output, "startup_cm4.c", *_sources(directory)],
         directory)
    return directory / output


def run_host(program: Path, timeout: float = 120) -> str:
    """Run a host program and return its stdout."""
    return _run([str(program)], Path(program).parent, timeout).stdout


def run_qemu(elf: Path, timeout: float = 300) -> str:
    """Run a Cortex-M4 ELF under qemu-system-arm (mps2-an386, semihosting); return its stdout."""
    qemu = require_tool("qemu-system-arm")
    try:
        return _run([qemu, *QEMU_MACHINE, "-kernel", str(elf)], Path(elf).parent, timeout).stdout
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{Path(elf).name} did not exit within {timeout} s under QEMU "
                           "(a fault handler loops forever)") from error


def count_instructions(elf: Path, timeout: float = 600) -> int:
    """Return how many instructions the ELF executes under QEMU (one log line per instruction)."""
    qemu = require_tool("qemu-system-arm")
    # -singlestep makes each translation block one instruction; nochain logs every execution.
    with subprocess.Popen([qemu, *QEMU_MACHINE, "-singlestep", "-d", "exec,nochain",
                           "-D", "/dev/stderr", "-kernel", str(elf)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        count, tail = 0, b""
        while chunk := process.stderr.read(1 << 20):
            data = tail + chunk
            cut = data.rfind(b"\n") + 1  # count whole lines only
            count += data.count(b"Trace ", 0, cut)
            tail = data[cut:]
        count += tail.count(b"Trace ")
        if process.wait(timeout) != 0:
            raise RuntimeError(f"{Path(elf).name} exited with {process.returncode} under QEMU")
    return count


@dataclass(frozen=True)
class SizeReport:
    """arm-none-eabi-size (Berkeley) figures of an ELF or object, in bytes."""

    text: int  # code and read-only data (weights): flash
    data: int  # initialized data: flash (its initial values) and RAM
    bss: int  # zeroed data (the arena, buffers): RAM

    @property
    def flash_bytes(self) -> int:
        """Return the flash an image needs: text + rodata + data's initial values."""
        return self.text + self.data

    @property
    def static_ram_bytes(self) -> int:
        """Return the RAM reserved before the program runs: data + bss."""
        return self.data + self.bss


def size_of(path: Path) -> SizeReport:
    """Return text/data/bss of an ELF or object file from arm-none-eabi-size."""
    out = _run([require_tool("arm-none-eabi-size"), "-B", str(path)], Path(path).parent).stdout
    text, data, bss = (int(v) for v in out.strip().splitlines()[-1].split()[:3])
    return SizeReport(text, data, bss)


def compile_object_m4(source: Path) -> Path:
    """Compile one C file for the Cortex-M4 into an object (its own flash/RAM share)."""
    source = Path(source)
    obj = source.with_suffix(".o")
    _run([require_tool("arm-none-eabi-gcc"), *M4_CFLAGS, "-fstack-usage", "-c", source.name,
          "-o", obj.name], source.parent)
    return obj


def stack_estimate(directory: Path, sources: list[str]) -> int:
    """Return a stack estimate from gcc's -fstack-usage: the caller's frame + its deepest callee.

    The generated program is one level deep (invoke -> kernel -> helpers), so the estimate is
    the sum of the largest frame of each file: an upper bound, not a measurement.
    """
    total = 0
    for source in sources:
        su = Path(directory) / (Path(source).stem + ".su")
        frames = [int(m.group(1)) for m in re.finditer(r"\t(\d+)\t", su.read_text())] \
            if su.is_file() else [0]
        total += max(frames, default=0)
    return total


def parse_outputs(stdout: str, count: int, size: int) -> np.ndarray:
    """Parse the harness's printed int8 outputs into an (count, size) array."""
    lines = stdout.strip().splitlines()
    if not lines or lines[-1] != f"done {count}":
        raise RuntimeError(f"the test program did not finish (last line: {lines[-1:]})")
    rows = [[int(v) for v in line.split()] for line in lines[:-1]]
    out = np.array(rows, dtype=np.int64)
    if out.shape != (count, size):
        raise RuntimeError(f"expected {count} x {size} outputs, got {out.shape}")
    return out.astype(np.int8)


def build_shared(source: str, directory: Path, name: str = "kernel") -> Path:
    """Compile C source into a host shared library (for ctypes), -Wall -Wextra -Werror."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.c").write_text(source)
    _run([require_tool("gcc"), *HOST_CFLAGS, "-shared", "-fPIC", "-o", f"lib{name}.so",
          f"{name}.c"], directory)
    return directory / f"lib{name}.so"
