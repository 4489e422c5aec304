"""Run a ``.tflite`` in the real TensorFlow Lite for Microcontrollers runtime; measure its arena.

The TinyML-interpreter route of lesson 05. ``tflite_micro.runtime`` is TFLM's own C++ interpreter
behind a Python wrapper: what runs here is what runs on the microcontroller (reference kernels).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecourse.deploy import tflm_probe
from edgecourse.deploy.tflite_model import TFLiteModel, load_tflite

#: Arena used when none is given: large enough for every course model, small for a PC.
DEFAULT_ARENA_BYTES = 1 << 20


@dataclass(frozen=True)
class ArenaMeasurement:
    """The smallest arena TFLM accepts for a model, and what its recording allocator reported."""

    arena_bytes: int  # smallest arena_size that allocates and invokes (found by bisection)
    recorded_bytes: int  # "Arena allocation total" of the recording allocator
    report: str  # the allocator's print_allocations() text


def _model_bytes(model: bytes | bytearray | TFLiteModel | str | Path) -> bytes:
    if isinstance(model, TFLiteModel):
        return model.model_bytes
    return load_tflite(model).model_bytes  # validates: a clear error for non-flatbuffers


def quantize_input(X: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Quantize float inputs to int8 the way TFLite's QUANTIZE does (round half away from 0)."""
    q = np.asarray(X, np.float64) / scale
    q = np.sign(q) * np.floor(np.abs(q) + 0.5) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def interpreter(model, arena_bytes: int = DEFAULT_ARENA_BYTES):
    """Return a TFLM interpreter for the model, its tensors allocated in ``arena_bytes``."""
    return tflm_probe.new_interpreter(_model_bytes(model), arena_bytes)


def run_tflm(model, X: np.ndarray, arena_bytes: int = DEFAULT_ARENA_BYTES) -> np.ndarray:
    """Run every sample of X (already in the input tensor's dtype) through TFLM; stack outputs."""
    parsed = model if isinstance(model, TFLiteModel) else load_tflite(model)
    if len(parsed.inputs) != 1 or len(parsed.outputs) != 1:
        raise ValueError("run_tflm handles models with one input and one output tensor")
    spec = parsed.input_tensors[0]
    dtype = np.dtype(np.int8 if spec.dtype == "INT8" else np.float32)
    X = np.asarray(X)
    if X.dtype != dtype:
        raise TypeError(f"the model's input is {spec.dtype}; got {X.dtype} samples "
                        "(quantize floats first with quantize_input)")
    shape = tuple(spec.shape)
    if X.shape[1:] != shape[1:]:
        raise ValueError(f"each sample must have shape {shape[1:]}, got {X.shape[1:]}")
    it = interpreter(parsed, arena_bytes)
    outputs = []
    for x in X:
        it.set_input(x.reshape(shape), 0)
        it.invoke()
        outputs.append(np.array(it.get_output(0)).reshape(-1))
    return np.stack(outputs)


def allocation_report(model, arena_bytes: int = DEFAULT_ARENA_BYTES) -> str:
    """Return TFLM's recording-allocator report (print_allocations) after one invoke."""
    return tflm_probe.allocation_report(_model_bytes(model), arena_bytes)


def recorded_arena_bytes(report: str) -> int:
    """Return the "Arena allocation total" figure of an allocation report."""
    return tflm_probe.recorded_arena_bytes(report)


def measure_arena(model) -> ArenaMeasurement:
    """Measure the smallest tensor arena TFLM needs for the model (bisection in a subprocess)."""
    model_bytes = _model_bytes(model)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(model_bytes)
        # A child process: a TFLM crash on a tiny arena must not take the caller down.
        result = subprocess.run([sys.executable, "-m", "edgecourse.deploy.tflm_probe", str(path)],
                                capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"TFLM arena measurement failed (exit {result.returncode}): "
                           f"{result.stderr.strip()[-500:]}")
    return ArenaMeasurement(**json.loads(result.stdout.strip().splitlines()[-1]))



def run_tflm_tensors(model, X: np.ndarray, tensor_indices: list[int],
                     arena_bytes: int = DEFAULT_ARENA_BYTES) -> dict[int, np.ndarray]:
    """Run X through TFLM keeping every tensor; return {index: values per sample} (lesson 05)."""
    from tflite_micro import runtime

    parsed = model if isinstance(model, TFLiteModel) else load_tflite(model)
    for i in tensor_indices:
        if not 0 <= i < len(parsed.tensors):
            raise ValueError(f"tensor index {i} out of range (the model has "
                             f"{len(parsed.tensors)} tensors)")
    tflm_probe.new_interpreter(parsed.model_bytes, arena_bytes)  # validates the arena size
    it = runtime.Interpreter.from_bytes(
        parsed.model_bytes, arena_size=int(arena_bytes),
        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    shape = tuple(parsed.input_tensors[0].shape)
    values: dict[int, list] = {i: [] for i in tensor_indices}
    for x in np.asarray(X):
        it.set_input(x.reshape(shape), 0)
        it.invoke()
        for i in tensor_indices:
            values[i].append(np.array(it.GetTensor(i, 0)["tensor_data"]).reshape(-1))
    return {i: np.stack(v) for i, v in values.items()}
