"""One ruler for every route: build with the same flags, run, and measure on a Cortex-M4.

The generated C and the TFLM firmware are compiled for the same Cortex-M4F (hard float ABI),
linked with the same start-up file and linker script (``runtime/``), run on QEMU's mps2-an386
board with semihosting (printf reaches our stdout, the exit code ends the emulator), and measured
alike: flash and RAM from the linked image (``arm-none-eabi-size`` plus a link-map breakdown),
stack from the painted stack's high-water mark, instructions from QEMU's log of every executed
instruction between the ``ec_begin()``/``ec_end()`` markers. Every tool is looked up on PATH; a
missing one is a one-line error naming the Debian package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecourse.deploy.firmware.templating import runtime_text

OPT = "-O2"
#: Every object linked into one image must share the float ABI (TFLM's included).
M4_ARCH = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
HOST_CFLAGS = ("-std=c99", OPT, "-Wall", "-Wextra", "-Werror")
M4_CFLAGS = (*HOST_CFLAGS, *M4_ARCH, "-ffunction-sections", "-fdata-sections")
M4_LDFLAGS = ("--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles", "-Wl,--gc-sections")
#: TFLM's library flags (third_party/README.md), rendered into the generated Makefile, plus
#: -ffp-contract=off: no fused multiply-add in float32 kernels (the Cortex-M4F's VFMA rounds once
#: where the TFLM Python runtime on x86-64 rounds twice), so float32 outputs are equal bit for bit.
TFLM_CXXFLAGS = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics",
                 "-ffp-contract=off")
TFLM_DEFINES = ("-DTF_LITE_STATIC_MEMORY",)
TFLM_INCLUDES = ("third_party/gemmlowp", "third_party/flatbuffers/include", "third_party/ruy",
                 "third_party/kissfft")
CMSIS_NN_DEFINES = ("-DCMSIS_NN", "-DPROJECT_GENERATION")
CMSIS_NN_INCLUDES = ("third_party/cmsis", "third_party/cmsis/CMSIS/Core/Include",
                     "third_party/cmsis_nn", "third_party/cmsis_nn/Include")
QEMU_MACHINE = ("-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
                "-semihosting-config", "enable=on,target=native")
#: Runtime files every Cortex-M4 image of either route links.
M4_RUNTIME = ("startup_cm4.c", "cortex_m4.ld")
BENCH_FILES = ("ec_bench.h", "ec_bench.c")
_PACKAGES = {"gcc": "gcc", "g++": "g++", "make": "make",
             "arm-none-eabi-gcc": "gcc-arm-none-eabi", "arm-none-eabi-g++": "gcc-arm-none-eabi",
             "arm-none-eabi-size": "binutils-arm-none-eabi",
             "arm-none-eabi-nm": "binutils-arm-none-eabi",
             "arm-none-eabi-strip": "binutils-arm-none-eabi", "qemu-system-arm": "qemu-system-arm"}


def require_tool(name: str) -> str:
    """Return the path of a build tool, or raise RuntimeError naming the package to install."""
    path = shutil.which(name)
    if path is None:
        package = _PACKAGES.get(name, name)
        extra = " libnewlib-arm-none-eabi" if name.startswith("arm-none-eabi") else ""
        extra += " libstdc++-arm-none-eabi-newlib" if name == "arm-none-eabi-g++" else ""
        raise RuntimeError(f"{name} not found on PATH: sudo apt-get install {package}{extra}")
    return path


def run_tool(command: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a build tool; raise RuntimeError with the end of its output if it fails."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed (exit {result.returncode}):\n"
                           f"{(result.stderr or result.stdout).strip()[-2000:]}")
    return result


def runtime_files(cortex_m4: bool = True) -> dict[str, str]:
    """Return the runtime files a project needs: the markers, and start-up + linker script."""
    names = BENCH_FILES + (M4_RUNTIME if cortex_m4 else ())
    return {name: runtime_text(name) for name in names}


def _c_sources(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.c") if p.name != "startup_cm4.c")


def build_host(directory: Path, output: str = "model_host") -> Path:
    """Compile every .c in the directory with the host gcc (-Wall -Wextra -Werror)."""
    directory = Path(directory)
    for name, text in runtime_files(cortex_m4=False).items():
        (directory / name).write_text(text)
    run_tool([require_tool("gcc"), *HOST_CFLAGS, "-o", output, *_c_sources(directory)], directory)
    return directory / output


def build_cortex_m4(directory: Path, output: str = "model_m4.elf") -> Path:
    """Compile the directory's C for the Cortex-M4F, one object per file; link with a map."""
    directory = Path(directory)
    for name, text in runtime_files().items():
        (directory / name).write_text(text)
    gcc = require_tool("arm-none-eabi-gcc")
    objects = []
    for source in ["startup_cm4.c", *_c_sources(directory)]:
        objects.append(f"{Path(source).stem}.o")
        run_tool([gcc, *M4_CFLAGS, "-c", source, "-o", objects[-1]], directory)
    map_file = Path(output).with_suffix(".map").name
    run_tool([gcc, *M4_ARCH, *M4_LDFLAGS, "-T", "cortex_m4.ld", f"-Wl,-Map={map_file}", "-o",
          output, *objects], directory)
    return directory / output


@dataclass(frozen=True)
class Run:
    """What a program printed and its exit code."""

    stdout: str
    stderr: str
    returncode: int

    @property
    def stack_bytes(self) -> int | None:
        """Return the stack high-water mark the Cortex-M4 start-up reported (None on a host)."""
        found = re.search(r"ec-stack-bytes: (\d+)", self.stderr)
        return int(found.group(1)) if found else None


def _execute(command: list[str], cwd: Path, timeout: float) -> Run:
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{Path(command[-1]).name} did not exit within {timeout} s "
                           "(under QEMU, a fault handler loops forever)") from error
    return Run(result.stdout, result.stderr, result.returncode)


def run_host(program: Path, timeout: float = 300) -> Run:
    """Run a host program; return its output and exit code."""
    return _execute([str(Path(program).resolve())], Path(program).parent, timeout)


def run_qemu(elf: Path, timeout: float = 300) -> Run:
    """Run a Cortex-M4 ELF under qemu-system-arm (mps2-an386, semihosting)."""
    qemu = require_tool("qemu-system-arm")
    return _execute([qemu, *QEMU_MACHINE, "-kernel", str(Path(elf).resolve())],
                    Path(elf).parent, timeout)


def symbol_address(elf: Path, name: str) -> int:
    """Return the address of a function in an ELF (Thumb bit cleared)."""
    out = run_tool([require_tool("arm-none-eabi-nm"), str(elf)], Path(elf).parent).stdout
    found = re.search(rf"^([0-9a-f]+) [Tt] {re.escape(name)}$", out, re.M)
    if found is None:
        raise RuntimeError(f"{Path(elf).name} has no function {name}: link ec_bench.c and "
                           "call ec_begin()/ec_end() around what is to be counted")
    return int(found.group(1), 16) & ~1


@dataclass(frozen=True)
class Counts:
    """Instructions executed between ec_begin() and ec_end(): setup, then each inference."""

    setup: int
    inferences: tuple[int, ...]

    @property
    def per_inference(self) -> int:
        """Return the instructions of one inference (the first one counted)."""
        return self.inferences[0]


def count_instructions(elf: Path, inferences: int = 1, timeout: float = 600) -> Counts:
    """Count instructions under QEMU between the markers: setup and the first inferences."""
    qemu = require_tool("qemu-system-arm")
    begin, end = symbol_address(elf, "ec_begin"), symbol_address(elf, "ec_end")
    # -singlestep makes each translation block one instruction; nochain logs every execution.
    marker = re.compile(rb"\[[0-9a-f]{8}/(%b|%b)/" % (b"%08x" % begin, b"%08x" % end))
    wanted = 1 + inferences
    segments: list[int] = []
    lines, start, tail = 0, None, b""
    deadline = time.monotonic() + timeout
    # QEMU looks up a symbol name for every logged instruction: a stripped copy logs faster.
    stripped = Path(elf).with_suffix(".stripped.elf")
    run_tool([require_tool("arm-none-eabi-strip"), "-o", str(stripped), str(elf)], Path(elf).parent)
    with subprocess.Popen([qemu, *QEMU_MACHINE, "-singlestep", "-d", "exec,nochain",
                           "-D", "/dev/stderr", "-kernel", str(stripped.resolve())],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            while len(segments) < wanted and (chunk := process.stderr.read(1 << 20)):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{Path(elf).name}: counting took over {timeout} s "
                                       "under QEMU (a fault handler loops forever?)")
                data = tail + chunk
                cut = data.rfind(b"\n") + 1  # whole lines only
                for match in marker.finditer(data, 0, cut):
                    line = lines + data.count(b"\n", 0, match.start())
                    if int(match.group(1), 16) == begin:
                        start = line
                    elif start is not None:
                        segments.append(line - start)
                        start = None
                lines += data.count(b"\n", 0, cut)
                tail = data[cut:]
        finally:
            process.kill()
            process.wait()
    if len(segments) < wanted:
        raise RuntimeError(f"{Path(elf).name} ran {len(segments)} marked segments under QEMU, "
                           f"{wanted} expected (setup + {inferences} inferences)")
    return Counts(segments[0], tuple(segments[1:wanted]))


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
    out = run_tool([require_tool("arm-none-eabi-size"), "-B", str(path)], Path(path).parent).stdout
    text, data, bss = (int(v) for v in out.strip().splitlines()[-1].split()[:3])
    return SizeReport(text, data, bss)


def compile_object_m4(source: Path) -> Path:
    """Compile one C file for the Cortex-M4 into an object (its own flash/RAM share)."""
    source = Path(source)
    obj = source.with_suffix(".o")
    run_tool([require_tool("arm-none-eabi-gcc"), *M4_CFLAGS, "-c", source.name, "-o", obj.name],
             source.parent)
    return obj


#: Output sections of cortex_m4.ld that occupy flash, RAM, or both (.data: its initial values).
_FLASH_SECTIONS = {".isr_vector", ".text", ".ARM.extab", ".ARM.exidx", ".preinit_array",
                   ".init_array", ".fini_array"}
_LIBRARIES = re.compile(r"lib(c|m|g|gcc|stdc\+\+|supc\+\+|rdimon|nosys)(_nano)?\.a\b")


def classify_object(path: str, model: tuple[str, ...] = ("model_data",)) -> str:
    """Return the part of the image an input file belongs to (runtime libraries, TFLM, ...)."""
    name = Path(path.split("(")[0]).name
    stem = name.split(".")[0]
    if _LIBRARIES.search(name):
        return "runtime libraries"
    if name.startswith("libtflm"):
        return "TFLM"
    if stem in ("ec_kernels", "ec_codebook"):  # the generated C's kernels
        return "kernels"
    if stem in model:
        return "model"
    if stem == "test_data":
        return "test data"
    return "application"


def _map_entries(map_file: Path) -> list[tuple[str, int, int, str]]:
    """Return (output section, address, size, input file) of every input section in a map."""
    text = Path(map_file).read_text()
    text = text[text.index("Linker script and memory map"):]
    entries, output, pending = [], None, False
    for line in text.splitlines():
        head = re.match(r"^(\.[\w.]+)\s", line + " ")
        if head and not line.startswith(" "):
            output = head.group(1)
            continue
        if re.match(r"^ \.[\w.$]+$", line):  # a long input section name: figures on the next line
            pending = True
            continue
        found = re.match(r"^ (\.[\w.$]+|COMMON)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
        if found and (found.group(1) or pending):
            entries.append((output, int(found.group(2), 16), int(found.group(3), 16),
                            found.group(4).strip()))
        pending = False
    return entries


def map_breakdown(map_file: Path, model: tuple[str, ...] = ("model_data",)) -> dict[str, dict]:
    """Return {part: {"flash": bytes, "ram": bytes}} from a GNU ld link map (-Wl,-Map=...).

    Merged string sections are listed at one address with their sizes before merging: bytes
    already counted are not counted again.
    """
    parts: dict[str, dict] = {}
    entries = sorted(_map_entries(map_file), key=lambda e: (e[0] or "", e[1], -e[2]))
    covered: dict[str, int] = {}
    for i, (output, address, size, source) in enumerate(entries):
        in_flash = output in _FLASH_SECTIONS or output == ".data"
        in_ram = output in (".data", ".bss")
        # A section ends where the next one starts, whatever size it had before merging.
        following = [a for o, a, _, _ in entries[i + 1:i + 64] if o == output and a > address]
        end = min([address + size, *following[:1]])
        new = end - max(address, covered.get(output, 0))
        if new <= 0 or not (in_flash or in_ram):
            continue
        covered[output] = end
        part = parts.setdefault(classify_object(source, model), {"flash": 0, "ram": 0})
        part["flash"] += new if in_flash else 0
        part["ram"] += new if in_ram else 0
    return parts


def parse_outputs(stdout: str, count: int, size: int, dtype=np.int8) -> np.ndarray:
    """Parse the harness's "sample N: outputs v0 v1 ..." lines into a (count, size) array.

    int8 outputs are printed as values, float32 outputs as their bit patterns (exact).
    """
    lines = stdout.strip().splitlines()
    if not lines or not re.match(rf"done {count}\b", lines[-1]):
        raise RuntimeError(f"the test program did not finish (last line: {lines[-1:]})")
    rows = [[int(v) for v in m.group(1).split()] for m in
            (re.match(r"sample \d+: outputs((?: -?\d+)+)", line) for line in lines) if m]
    out = np.array(rows, dtype=np.int64)
    if out.shape != (count, size):
        raise RuntimeError(f"expected {count} x {size} outputs, got {out.shape}")
    if np.dtype(dtype) == np.float32:
        return out.astype(np.uint32).view(np.float32)
    return out.astype(np.int8)


def build_shared(source: str, directory: Path, name: str = "kernel") -> Path:
    """Compile C source into a host shared library (for ctypes), -Wall -Wextra -Werror."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.c").write_text(source)
    run_tool([require_tool("gcc"), *HOST_CFLAGS, "-shared", "-fPIC", "-o", f"lib{name}.so",
          f"{name}.c"], directory)
    return directory / f"lib{name}.so"
