"""Build a route's firmware for the host and the Cortex-M4, run it, compare with TFLM, measure.

Both routes run the same samples (int8; TFLM also float32), are compared with the TFLM Python
runtime output by output, and are measured by the same toolchain (flash, RAM, stack,
instructions).
"""

from __future__ import annotations

import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from edgecourse.deploy.firmware import toolchain
from edgecourse.deploy.firmware.buffer_plan import plan_buffers
from edgecourse.deploy.firmware.codegen_c import c_identifier, generate_c, generate_harness
from edgecourse.deploy.firmware.project import write_project
from edgecourse.deploy.firmware.report import FirmwareReport, measure_image
from edgecourse.deploy.firmware.tflm_build import build_project
from edgecourse.deploy.firmware.tflm_project import generate_tflm, io_type
from edgecourse.deploy.firmware.tflm_tree import find_tree
from edgecourse.deploy.tflite_model import TFLiteModel, as_model


def _samples(model: TFLiteModel, X: np.ndarray, dtype=np.int8) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype != dtype:
        raise TypeError(f"X must hold the model's {np.dtype(dtype)} inputs, got {X.dtype}: "
                        "use edgecourse.deploy.runtimes.model_input first")
    return X.reshape(len(X), *model.input_tensors[0].shape[1:])


def _project_dir(directory: Path | None):
    """Return a context giving the project folder: a temporary one, or ``directory`` (kept)."""
    if directory is None:
        return tempfile.TemporaryDirectory()
    return nullcontext(str(directory))


def _outputs(run: toolchain.Run, reference: np.ndarray, where: str) -> np.ndarray:
    if run.returncode not in (0, 1):  # 1: some output differs, still printed
        raise RuntimeError(f"the firmware failed on the {where} (exit {run.returncode}): "
                           f"{(run.stderr or run.stdout).strip()[-1000:]}")
    return toolchain.parse_outputs(run.stdout, *reference.shape, reference.dtype)


def verify_c(model, X: np.ndarray, name: str = "model", host: bool = True, qemu: bool = True,
             count: bool = True, directory: Path | None = None,
             codebook: bool = False, sparse: bool = False) -> FirmwareReport:
    """Generate C for the model into ``directory``, run it on int8 inputs X, compare with TFLM.

    ``codebook=True`` stores weight-shared layers as packed indices plus codebooks (lesson 06);
    ``sparse=True`` stores pruned layers as compressed sparse rows (lesson 02).
    """
    from edgecourse.deploy.runtimes import run_tflm

    parsed = as_model(model)
    X = _samples(parsed, X)
    tflm = run_tflm(parsed, X).reshape(len(X), -1)
    prefix = c_identifier(name)
    start = time.perf_counter()
    host_out, qemu_out, image, counts = None, None, None, None
    with _project_dir(directory) as folder:
        files = {**generate_c(parsed, name, codebook, sparse), **generate_harness(prefix, X.reshape(len(X), -1))}
        directory = write_project(files, Path(folder))
        if host:
            host_out = _outputs(toolchain.run_host(toolchain.build_host(directory)), tflm, "host")
        if qemu:
            elf = toolchain.build_cortex_m4(directory)
            run = toolchain.run_qemu(elf)
            qemu_out = _outputs(run, tflm, "Cortex-M4")
            image = measure_image(elf, elf.with_suffix(".map"), run, (prefix,))
            counts = toolchain.count_instructions(elf) if count else None
    return FirmwareReport("generated C", tflm, host_out, qemu_out, plan_buffers(parsed).arena_bytes,
                          image, counts, time.perf_counter() - start)


def verify_tflm(model, X: np.ndarray, name: str = "model", kernels: str = "reference",
                host: bool = True, qemu: bool = True, count: bool = True,
                directory: Path | None = None, tree: Path | None = None,
                measured_arena_bytes: int | None = None) -> FirmwareReport:
    """Generate the TFLM project into ``directory``, build and run it, compare with TFLM.

    The model is int8 or float32 (lesson 04's fp32 on the Cortex-M4F's FPU); X holds its
    inputs, and outputs are compared bit for bit.

    CMSIS-NN kernels are Cortex-M kernels: with ``kernels="cmsis-nn"`` only QEMU runs. The
    arena is measured in the TFLM runtime unless ``measured_arena_bytes`` is given.
    """
    parsed = as_model(model)
    X = _samples(parsed, X, io_type(parsed)["dtype"])
    tree = find_tree(kernels, tree)
    project = generate_tflm(parsed, name, measured_arena_bytes, X=X)
    tflm = project.test_outputs
    host_out, qemu_out, image, counts = None, None, None, None
    start = time.perf_counter()
    with _project_dir(directory) as folder:
        directory = write_project(project.files, Path(folder))
        if host and kernels == "reference":
            build = build_project(directory, tree, "host")
            host_out = _outputs(toolchain.run_host(build.program), tflm, "host")
        if qemu:
            build = build_project(directory, tree, "cortex-m4")
            run = toolchain.run_qemu(build.program)
            qemu_out = _outputs(run, tflm, "Cortex-M4")
            image = measure_image(build.program, build.map_file, run)
            counts = toolchain.count_instructions(build.program) if count else None
    return FirmwareReport(f"TFLM {kernels}", tflm, host_out, qemu_out, project.arena_bytes,
                          image, counts, time.perf_counter() - start)
