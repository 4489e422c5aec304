"""What a firmware route did, checked against the TFLM Python runtime and measured on a Cortex-M4.

The same report for the generated C and for TFLM (reference or CMSIS-NN kernels), filled by the
same measurements of :mod:`edgecourse.deploy.firmware.toolchain`, so the routes compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgecourse.deploy.firmware import toolchain


@dataclass(frozen=True)
class Image:
    """The flash and RAM of a linked Cortex-M4 image, test data left out."""

    flash_bytes: int  # text + data of the ELF, minus the embedded test samples
    static_ram_bytes: int  # data + bss of the ELF (arena included)
    stack_bytes: int | None  # painted-stack high-water mark of the run
    breakdown: dict[str, dict] = field(default_factory=dict)  # part -> {"flash", "ram"}

    @property
    def ram_bytes(self) -> int:
        """Return the RAM the program needs: static data + bss + the stack it used."""
        return self.static_ram_bytes + (self.stack_bytes or 0)


def measure_image(elf: Path, map_file: Path, run: toolchain.Run,
                  model: tuple[str, ...] = ("model_data",)) -> Image:
    """Return an image's flash and RAM: arm-none-eabi-size, the link map, the run's stack."""
    size = toolchain.size_of(elf)
    parts = toolchain.map_breakdown(map_file, model)
    test = parts.get("test data", {"flash": 0, "ram": 0})
    return Image(size.flash_bytes - test["flash"], size.static_ram_bytes - test["ram"],
                 run.stack_bytes, parts)


@dataclass(frozen=True)
class FirmwareReport:
    """One route's firmware: outputs on the host and under QEMU, and its Cortex-M4 costs."""

    route: str  # "generated C", "TFLM reference", "TFLM cmsis-nn"
    tflm: np.ndarray = field(repr=False)  # the TFLM Python runtime's int8 outputs (reference)
    host: np.ndarray | None = field(repr=False)  # the firmware built for the host
    qemu: np.ndarray | None = field(repr=False)  # the firmware on the Cortex-M4 under QEMU
    arena_bytes: int  # the activation arena (buffer plan, or TFLM's measured arena + margin)
    image: Image | None = None  # flash and RAM of the Cortex-M4 image
    counts: toolchain.Counts | None = None  # instructions: setup and per inference
    build_seconds: float = 0.0

    @property
    def host_matches(self) -> float:
        """Return the fraction of samples whose host outputs equal TFLM's exactly."""
        return _matches(self.host, self.tflm)

    @property
    def qemu_matches(self) -> float:
        """Return the fraction of samples whose Cortex-M4 outputs equal TFLM's exactly."""
        return _matches(self.qemu, self.tflm)

    @property
    def flash_bytes(self) -> int | None:
        """Return the image's flash (test samples left out), None without a Cortex-M4 build."""
        return self.image.flash_bytes if self.image else None

    @property
    def ram_bytes(self) -> int | None:
        """Return the image's RAM: static data + bss + measured stack."""
        return self.image.ram_bytes if self.image else None

    @property
    def stack_bytes(self) -> int | None:
        """Return the measured stack high-water mark."""
        return self.image.stack_bytes if self.image else None

    @property
    def instructions(self) -> int | None:
        """Return the instructions of one inference on the Cortex-M4."""
        return self.counts.per_inference if self.counts else None

    @property
    def setup_instructions(self) -> int | None:
        """Return the instructions before the first inference (TFLM: AllocateTensors etc.)."""
        return self.counts.setup if self.counts else None

    def row(self) -> dict:
        """Return the report as one row of a comparison table."""
        return {"route": self.route, "samples": len(self.tflm),
                "host equal": _percent(self.host_matches),
                "QEMU equal": _percent(self.qemu_matches),
                "flash B": self.flash_bytes, "RAM B": self.ram_bytes,
                "arena B": self.arena_bytes, "stack B": self.stack_bytes,
                "setup instr": self.setup_instructions, "instr/inference": self.instructions}


def _matches(outputs: np.ndarray | None, reference: np.ndarray) -> float:
    if outputs is None:
        return float("nan")
    return float(np.mean(np.all(outputs == reference, axis=1)))


def _percent(value: float) -> str:
    return "-" if np.isnan(value) else f"{100 * value:.0f}%"


def format_table(reports: list[FirmwareReport]) -> str:
    """Render reports as one fixed-width table (one row per route)."""
    return format_rows([r.row() for r in reports])


def format_rows(rows: list[dict]) -> str:
    """Render :meth:`FirmwareReport.row` dicts as one fixed-width table."""
    columns = list(rows[0])
    cells = [[("-" if v is None else f"{v:,}" if isinstance(v, int) else str(v))
              for v in row.values()] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(columns, widths, strict=True)))]
    lines += ["  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                        for i, (v, w) in enumerate(zip(r, widths, strict=True))) for r in cells]
    return "\n".join(lines)
