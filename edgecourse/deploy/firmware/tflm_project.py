"""The TinyML-interpreter route as firmware: TFLM sources for any int8 ``.tflite``.

The model becomes a C array in the style of TFLM's ``generate_cc_arrays.py``, the op resolver
registers exactly the model's ops (a ``MicroMutableOpResolver<N>`` costs flash per op), the
tensor arena is the size measured in the real TFLM runtime plus a stated margin, and ``main.cc``
runs test inputs whose expected outputs come from the TFLM Python runtime. The Makefile builds
against a TFLM tree (``create_tflm_tree.py``) for the host or a Cortex-M4F, compiling only the
TFLM sources the model needs (:mod:`edgecourse.deploy.firmware.tflm_tree`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from edgecourse.deploy.firmware import toolchain
from edgecourse.deploy.firmware.codegen_c import c_array, c_identifier
from edgecourse.deploy.firmware.templating import render
from edgecourse.deploy.tflite_model import as_model

#: Extra arena on top of the measured minimum: the host's allocator is not the target's
#: (pointer sizes, alignment), and a kernel version may need a few more bytes.
ARENA_MARGIN_BYTES = 1024
ARENA_ALIGNMENT = 16
#: Test inputs main.cc runs when none are given (seeded int8 values).
DEFAULT_SAMPLES = 4
TEMPLATE_FILES = ("model_data.h", "model_data.cc", "op_resolver.h", "model_settings.h",
                  "test_data.h", "test_data.cc", "main.cc", "Makefile", "README.md")

#: Builtin ops whose MicroMutableOpResolver method is not the CamelCase of the name (checked
#: against TFLM's micro_mutable_op_resolver.h by tests/deploy/test_firmware_tflm.py).
_ADD_METHOD_EXCEPTIONS = {"BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
                          "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
                          "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
                          "L2_NORMALIZATION": "AddL2Normalization", "PRELU": "AddPrelu",
                          "LOG_SOFTMAX": "AddLogSoftmax", "ADD_N": "AddAddN",
                          "BATCH_MATMUL": "AddBatchMatMul", "CUMSUM": "AddCumSum",
                          "PADV2": "AddPadV2",
                          "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM"}


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


@dataclass(frozen=True)
class TFLMProject:
    """The generated TFLM sources and the figures they were made from."""

    files: dict[str, str]
    name: str
    ops: list[str]
    arena_bytes: int
    measured_arena_bytes: int
    test_inputs: np.ndarray = field(repr=False)  # int8 or float32 (N, input size), test_data.cc
    test_outputs: np.ndarray = field(repr=False)  # the TFLM Python runtime's outputs


#: The test data of main.cc per input/output type: int8 values, or float32 bit patterns (exact).
IO_TYPES = {
    "INT8": {"type": "int8", "what": "int8, already quantized", "ctype": "int8_t",
             "storage": "int8_t", "tflite": "kTfLiteInt8", "member": "int8", "bytes": 1,
             "quantized": True, "dtype": np.dtype(np.int8)},
    "FLOAT32": {"type": "float32", "what": "float32 bit patterns", "ctype": "float",
                "storage": "uint32_t", "tflite": "kTfLiteFloat32", "member": "f", "bytes": 4,
                "quantized": False, "dtype": np.dtype(np.float32)},
}


def io_type(model) -> dict:
    """Return the IO_TYPES entry of a model whose inputs and outputs are all int8 or all float32."""
    parsed = as_model(model)
    types = {t.dtype for t in parsed.input_tensors + parsed.output_tensors}
    if len(types) != 1 or next(iter(types)) not in IO_TYPES:
        raise ValueError(f"the model's inputs/outputs are {'/'.join(sorted(types))}: the TFLM "
                         "firmware runs an int8 model (int8 input and output: convert with a "
                         "representative dataset and int8 inference types) or a float32 one")
    return IO_TYPES[types.pop()]


def sample_initializers(values: np.ndarray) -> list[str]:
    """Return each sample's C initializer: int8 values, or float32 bit patterns in hex."""
    values = np.asarray(values)
    if values.dtype == np.float32:
        return [c_array(v.view(np.uint32), 8, hex_bytes=True) for v in values]
    return [c_array(v) for v in values]


def random_samples(model, count: int = DEFAULT_SAMPLES, seed: int = 0) -> np.ndarray:
    """Return seeded inputs for a model without data: int8 over the whole range, float32 in [0, 1)."""
    spec = as_model(model).input_tensors[0]
    rng = np.random.default_rng(seed)
    if spec.dtype == "FLOAT32":
        return rng.random((count, *spec.shape[1:]), dtype=np.float32)
    return rng.integers(-128, 128, size=(count, *spec.shape[1:]), dtype=np.int8)


def makefile_sources(ops: list[str]) -> list[str]:
    """Return the TFLM sources the ops need, over every TFLM tree found (empty if none)."""
    from edgecourse.deploy.firmware.tflm_tree import available_trees, select_sources

    return sorted({s for tree in available_trees().values() for s in select_sources(tree, ops)})


def generate_tflm(model, name: str = "model", measured_arena_bytes: int | None = None,
                  margin_bytes: int = ARENA_MARGIN_BYTES, labels: list[str] | None = None,
                  X: np.ndarray | None = None, sources: list[str] | None = None) -> TFLMProject:
    """Return the TFLM firmware sources for an int8 (or float32) model and test inputs X.

    The expected outputs of X come from the TFLM Python runtime; without X, a few seeded
    inputs are used. The arena is measured in TFLM when not given; ``sources`` (the TFLM files
    the Makefile compiles) are selected from the TFLM trees found when not given.
    """
    from edgecourse.deploy.runtimes import run_tflm

    parsed = as_model(model)
    io = io_type(parsed)
    if len(parsed.inputs) != 1 or len(parsed.outputs) != 1:
        raise ValueError("the generated main.cc handles models with one input and one output")
    methods = [resolver_method(op) for op in parsed.ops]
    x, y = parsed.input_tensors[0], parsed.output_tensors[0]
    X = random_samples(parsed) if X is None else np.asarray(X)
    if X.dtype != io["dtype"] or X.size != len(X) * x.size or len(X) == 0:
        raise TypeError(f"X must be a non-empty {io['type']} batch of {x.size} values per sample "
                        f"({io['what']}), got {X.dtype} {X.shape}")
    X = X.reshape(len(X), *x.shape[1:])
    expected = run_tflm(parsed, X).reshape(len(X), -1).astype(io["dtype"])
    if sources is None:
        sources = makefile_sources(parsed.ops)
    if measured_arena_bytes is None:
        from edgecourse.deploy.tflm import measure_arena

        measured_arena_bytes = measure_arena(parsed).arena_bytes
    labels = list(labels) if labels is not None else [str(i) for i in range(y.size)]
    if len(labels) != y.size:
        raise ValueError(f"{len(labels)} labels for {y.size} outputs")
    ident = c_identifier(name)
    arena = arena_with_margin(measured_arena_bytes, margin_bytes)
    context = {
        "name": ident, "array": f"g_{ident}_model_data", "size": f"g_{ident}_model_data_size",
        "model_bytes": len(parsed.model_bytes),
        # generate_cc_arrays.py's layout: hex bytes, 12 per line
        "body": c_array(np.frombuffer(parsed.model_bytes, np.uint8), 12, "    ", hex_bytes=True),
        "ops": parsed.ops, "methods": methods, "arena_bytes": arena,
        "measured_arena_bytes": measured_arena_bytes, "margin_bytes": margin_bytes,
        "input": x, "output": y, "labels": labels, "count": len(X), "io": io,
        "inputs": sample_initializers(X.reshape(len(X), -1)),
        "outputs": [v.strip() for v in sample_initializers(expected)],
        "sources": sources, "lib_id": hashlib.sha256("\n".join(sources).encode()).hexdigest()[:12],
        "m4_arch": toolchain.M4_ARCH, "m4_ldflags": toolchain.M4_LDFLAGS,
        "qemu": toolchain.QEMU_MACHINE, "opt": toolchain.OPT, "cxxflags": toolchain.TFLM_CXXFLAGS,
        "tflm_defines": toolchain.TFLM_DEFINES, "tflm_includes": toolchain.TFLM_INCLUDES,
        "cmsis_defines": toolchain.CMSIS_NN_DEFINES, "cmsis_includes": toolchain.CMSIS_NN_INCLUDES,
    }
    files = {name: render(f"tflm/{name}.j2", context) for name in TEMPLATE_FILES}
    files.update(toolchain.runtime_files())
    return TFLMProject(files, ident, parsed.ops, arena, measured_arena_bytes, X.reshape(len(X), -1),
                       expected)
