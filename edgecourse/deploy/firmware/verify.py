"""Build the generated C for the host and a Cortex-M4, run both, compare with TFLM, measure."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgecourse.deploy.firmware import toolchain
from edgecourse.deploy.firmware.buffer_plan import plan_buffers
from edgecourse.deploy.firmware.codegen_c import (
    KERNEL_FILES,
    c_identifier,
    generate_c,
    generate_harness,
)
from edgecourse.deploy.firmware.project import write_project
from edgecourse.deploy.tflite_model import TFLiteModel, load_tflite


@dataclass(frozen=True)
class CRunReport:
    """What the generated C did on the host and under QEMU, and what it costs on a Cortex-M4."""

    tflm: np.ndarray = field(repr=False)  # TFLM's int8 outputs (the reference)
    host: np.ndarray = field(repr=False)  # generated C, host gcc
    qemu: np.ndarray | None = field(repr=False)  # generated C, Cortex-M4 under QEMU
    flash_bytes: int  # model code + weights + constants on the Cortex-M4 (text + data)
    ram_bytes: int  # static RAM (data + bss: the arena) + stack estimate
    arena_bytes: int  # the buffer plan's activation arena (part of ram_bytes)
    stack_bytes: int  # -fstack-usage estimate (part of ram_bytes)
    instructions: int | None  # executed per inference on the Cortex-M4 (QEMU count)

    @property
    def host_matches(self) -> float:
        """Return the fraction of samples whose host outputs equal TFLM's exactly."""
        return float(np.mean(np.all(self.host == self.tflm, axis=1)))

    @property
    def qemu_matches(self) -> float:
        """Return the fraction of samples whose Cortex-M4 outputs equal TFLM's exactly."""
        return float(np.mean(np.all(self.qemu == self.tflm, axis=1))) if self.qemu is not None \
            else float("nan")


def _instructions_per_inference(sources: dict[str, str], prefix: str, x: np.ndarray,
                                workdir: Path) -> int:
    """Count one inference: the same ELF run with 0 and with 1 inference, the difference."""
    counts = []
    for repeat in (0, 1):
        directory = write_project({**sources, **generate_harness(prefix, x[None], repeat)},
                                  workdir / f"count{repeat}")
        counts.append(toolchain.count_instructions(toolchain.build_cortex_m4(directory)))
    return counts[1] - counts[0]


def verify_c(model, X: np.ndarray, name: str = "model", qemu: bool = True,
             count: bool = True, workdir: Path | None = None) -> CRunReport:
    """Generate C for the model, run it on int8 inputs X (host, QEMU), compare with TFLM."""
    from edgecourse.deploy.tflm import run_tflm

    parsed = model if isinstance(model, TFLiteModel) else load_tflite(model)
    X = np.asarray(X)
    if X.dtype != np.int8:
        raise TypeError(f"X must hold int8 (quantized) inputs, got {X.dtype}: "
                        "use edgecourse.deploy.tflm.quantize_input first")
    x_shape = parsed.input_tensors[0].shape
    X = X.reshape(len(X), *x_shape[1:])
    sources = generate_c(parsed, name)
    prefix = c_identifier(name)
    tflm = run_tflm(parsed, X)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(workdir) if workdir is not None else Path(tmp)
        flat = X.reshape(len(X), -1)
        directory = write_project({**sources, **generate_harness(prefix, flat)}, root / "run")
        host = toolchain.parse_outputs(toolchain.run_host(toolchain.build_host(directory)),
                                       len(X), tflm.shape[1])
        qemu_out, instructions = None, None
        model_files = [f"{prefix}.c", *[f for f in KERNEL_FILES if f.endswith(".c")]]
        objects = [toolchain.compile_object_m4(directory / f) for f in model_files]
        sizes = [toolchain.size_of(o) for o in objects]
        stack = toolchain.stack_estimate(directory, model_files)
        if qemu:
            elf = toolchain.build_cortex_m4(directory)
            qemu_out = toolchain.parse_outputs(toolchain.run_qemu(elf), len(X), tflm.shape[1])
        if qemu and count:
            instructions = _instructions_per_inference(sources, prefix, flat[0], root)
    flash = sum(s.flash_bytes for s in sizes)
    static_ram = sum(s.static_ram_bytes for s in sizes)
    return CRunReport(tflm, host, qemu_out, flash, static_ram + stack,
                      plan_buffers(parsed).arena_bytes, stack, instructions)
