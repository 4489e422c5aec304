"""The TinyML-interpreter route as firmware: TFLM sources for any int8 ``.tflite``.

The model becomes a C array in the style of TFLM's ``generate_cc_arrays.py``, the op resolver
registers exactly the model's ops (a ``MicroMutableOpResolver<N>`` costs flash per op), and the
tensor arena is the size measured in the real TFLM runtime plus a stated margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgecourse.deploy.firmware.codegen_c import c_identifier
from edgecourse.deploy.firmware.templating import render
from edgecourse.deploy.tflite_model import TFLiteModel, load_tflite

#: Extra arena on top of the measured minimum: the host's allocator is not the target's
#: (pointer sizes, alignment), and a kernel version may need a few more bytes.
ARENA_MARGIN_BYTES = 1024
ARENA_ALIGNMENT = 16

#: Builtin ops whose MicroMutableOpResolver method is not the CamelCase of the name.
_ADD_METHOD_EXCEPTIONS = {"BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
                          "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
                          "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
                          "L2_NORMALIZATION": "AddL2Normalization", "PRELU": "AddPrelu",
                          "LOG_SOFTMAX": "AddLogSoftmax", "ADD_N": "AddAddN"}


def resolver_method(op: str) -> str:
    """Return the MicroMutableOpResolver method that registers a builtin op (e.g. AddConv2D)."""
    if op.startswith("CUSTOM:") or op.startswith("BUILTIN_"):
        raise ValueError(f"op {op} has no builtin TFLM registration: register it by hand")
    if op in _ADD_METHOD_EXCEPTIONS:
        return _ADD_METHOD_EXCEPTIONS[op]
    # CONV_2D -> AddConv2D: words capitalized, dimension suffixes ("2D") kept upper case.
    return "Add" + "".join(part if part[:1].isdigit() else part.capitalize()
                           for part in op.split("_"))


def arena_with_margin(measured_bytes: int, margin_bytes: int = ARENA_MARGIN_BYTES) -> int:
    """Return the firmware's arena: measured minimum + margin, rounded up to 16 bytes."""
    total = measured_bytes + margin_bytes
    return -(-total // ARENA_ALIGNMENT) * ARENA_ALIGNMENT


def cc_array_body(data: bytes) -> str:
    """Return the bytes as C hex literals, 12 per line (generate_cc_arrays.py's layout)."""
    hexes = [f"0x{b:02x}" for b in data]
    return ",\n".join("    " + ", ".join(hexes[i:i + 12]) for i in range(0, len(hexes), 12))


def _c_float(value: float) -> str:
    text = f"{value:.9g}"
    return f"{text}f" if any(c in text for c in ".eEn") else f"{text}.0f"


@dataclass(frozen=True)
class TFLMProject:
    """The generated TFLM sources and the figures they were made from."""

    files: dict[str, str]
    name: str
    ops: list[str]
    arena_bytes: int
    measured_arena_bytes: int


def generate_tflm(model, name: str = "model", measured_arena_bytes: int | None = None,
                  margin_bytes: int = ARENA_MARGIN_BYTES, labels: list[str] | None = None,
                  sample_input: np.ndarray | None = None) -> TFLMProject:
    """Return the TFLM firmware sources for an int8 model (arena measured in TFLM if not given)."""
    parsed = model if isinstance(model, TFLiteModel) else load_tflite(model)
    if not parsed.is_int8:
        raise ValueError("the TFLM firmware expects an int8 model (int8 input and output): "
                         "convert with a representative dataset and int8 inference types")
    if len(parsed.inputs) != 1 or len(parsed.outputs) != 1:
        raise ValueError("the generated main.cc handles models with one input and one output")
    methods = [resolver_method(op) for op in parsed.ops]
    if measured_arena_bytes is None:
        from edgecourse.deploy.tflm import measure_arena

        measured_arena_bytes = measure_arena(parsed).arena_bytes
    x, y = parsed.input_tensors[0], parsed.output_tensors[0]
    labels = list(labels) if labels is not None else [str(i) for i in range(y.size)]
    if len(labels) != y.size:
        raise ValueError(f"{len(labels)} labels for {y.size} outputs")
    sample = (np.zeros(x.size, np.float32) if sample_input is None
              else np.asarray(sample_input, np.float32).reshape(-1))
    if sample.size != x.size:
        raise ValueError(f"sample_input has {sample.size} values, the input needs {x.size}")
    ident = c_identifier(name)
    arena = arena_with_margin(measured_arena_bytes, margin_bytes)
    context = {
        "name": ident, "array": f"g_{ident}_model_data", "size": f"g_{ident}_model_data_size",
        "model_bytes": len(parsed.model_bytes), "body": cc_array_body(parsed.model_bytes),
        "ops": parsed.ops, "methods": methods, "arena_bytes": arena,
        "measured_arena_bytes": measured_arena_bytes, "margin_bytes": margin_bytes,
        "input": x, "output": y, "labels": labels,
        "sample": ", ".join(_c_float(v) for v in sample),
    }
    files = {name: render(f"tflm/{name}.j2", context)
             for name in ("model_data.h", "model_data.cc", "op_resolver.h", "model_settings.h",
                          "main.cc", "Makefile", "README.md")}
    return TFLMProject(files, ident, parsed.ops, arena, measured_arena_bytes)
