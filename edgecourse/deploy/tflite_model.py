"""Read a ``.tflite`` file: its ops, tensors (shapes, dtypes, scales, zero points, weights), graph.

Parsed with the flatbuffers schema module that ships inside ``tflite_micro``, not by hand, so
the field meanings are TFLite's own. Used by lesson 04 (inspect the converter's int8 model) and
lesson 05 (firmware generation, op resolver, generated C).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

#: Reverse maps of the schema's enums: number -> name.
_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
_ACTIVATIONS = {v: k for k, v in vars(schema.ActivationFunctionType).items()
                if not k.startswith("_")}
_PADDINGS = {v: k for k, v in vars(schema.Padding).items() if not k.startswith("_")}

#: TFLite tensor type name -> numpy dtype (the types a course model can hold).
_NUMPY_DTYPES = {
    "FLOAT32": np.float32, "FLOAT16": np.float16, "FLOAT64": np.float64,
    "INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16, "UINT16": np.uint16,
    "INT32": np.int32, "UINT32": np.uint32, "INT64": np.int64, "BOOL": np.bool_,
}


@dataclass(frozen=True)
class Tensor:
    """One tensor of the graph: its shape, type, quantization and (for constants) its data."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # TFLite type name, e.g. "INT8"
    scales: tuple[float, ...] = ()
    zero_points: tuple[int, ...] = ()
    quantized_dimension: int = 0
    data: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def is_constant(self) -> bool:
        """Return True when the tensor's values are stored in the file (weights, biases)."""
        return self.data is not None

    @property
    def scale(self) -> float:
        """Return the per-tensor scale (the first one if per-channel); 0.0 if not quantized."""
        return self.scales[0] if self.scales else 0.0

    @property
    def zero_point(self) -> int:
        """Return the per-tensor zero point (the first one if per-channel); 0 if not quantized."""
        return self.zero_points[0] if self.zero_points else 0

    @property
    def size(self) -> int:
        """Return the number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def numpy_dtype(self) -> np.dtype:
        """Return the numpy dtype of the elements (uint8 bytes for types numpy lacks)."""
        return np.dtype(_NUMPY_DTYPES.get(self.dtype, np.uint8))

    @property
    def nbytes(self) -> int:
        """Return the number of bytes the tensor's elements take."""
        return self.size * self.numpy_dtype.itemsize


@dataclass(frozen=True)
class Operator:
    """One operator: its builtin name, input and output tensor indices, builtin options."""

    index: int
    op: str  # builtin name, e.g. "CONV_2D"
    inputs: tuple[int, ...]  # -1 marks an omitted optional input (e.g. no bias)
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TFLiteModel:
    """A parsed ``.tflite`` model (its first subgraph) and the raw bytes it came from."""

    model_bytes: bytes = field(repr=False)
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    description: str = ""

    @property
    def ops(self) -> list[str]:
        """Return the distinct builtin op names, in order of first use."""
        return list(dict.fromkeys(o.op for o in self.operators))

    @property
    def input_tensors(self) -> list[Tensor]:
        """Return the model's input tensors."""
        return [self.tensors[i] for i in self.inputs]

    @property
    def output_tensors(self) -> list[Tensor]:
        """Return the model's output tensors."""
        return [self.tensors[i] for i in self.outputs]

    @property
    def is_int8(self) -> bool:
        """Return True when every input and output tensor is int8 (a fully integer model)."""
        return all(t.dtype == "INT8" for t in self.input_tensors + self.output_tensors)


def _options(op) -> dict:
    """Turn a builtin options object into a plain dict, enum values as names."""
    if op.builtinOptions is None:
        return {}
    options = {}
    for key, value in vars(op.builtinOptions).items():
        if key == "fusedActivationFunction":
            value = _ACTIVATIONS.get(value, str(value))
        elif key == "padding":
            value = _PADDINGS.get(value, str(value))
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        options[key] = value
    return options


def _buffer_data(model_bytes: bytes, buffer, dtype: str, shape: tuple[int, ...]):
    """Return a constant tensor's values, or None when it has no stored data."""
    raw = None
    if buffer is not None and buffer.data is not None and len(buffer.data):
        raw = np.asarray(buffer.data, dtype=np.uint8).tobytes()
    elif buffer is not None and getattr(buffer, "offset", 0) > 1:
        raw = model_bytes[buffer.offset: buffer.offset + buffer.size]  # > 2 GB layout
    if raw is None:
        return None
    if dtype not in _NUMPY_DTYPES:
        return np.frombuffer(raw, dtype=np.uint8).copy()
    values = np.frombuffer(raw, dtype=np.dtype(_NUMPY_DTYPES[dtype]).newbyteorder("<")).copy()
    return values.reshape(shape) if values.size == int(np.prod(shape)) else values


def load_tflite(model: bytes | bytearray | str | Path) -> TFLiteModel:
    """Parse a ``.tflite`` model (bytes or a path) into ops, tensors and the graph."""
    if isinstance(model, str | Path):
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"no .tflite file at {path}")
        model = path.read_bytes()
    if not isinstance(model, bytes | bytearray):
        raise TypeError(f"expected the .tflite bytes or a path, got {type(model).__name__}")
    model_bytes = bytes(model)
    if len(model_bytes) < 8 or not schema.Model.ModelBufferHasIdentifier(model_bytes, 0):
        raise ValueError("not a TFLite flatbuffer (no 'TFL3' identifier at byte 4): pass the "
                         "bytes of a .tflite file written by tf.lite.TFLiteConverter")
    try:
        parsed = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    except Exception as error:  # a truncated or corrupted flatbuffer fails deep inside
        raise ValueError(f"corrupted TFLite flatbuffer ({error}): re-export the model") from error
    if not parsed.subgraphs:
        raise ValueError("the .tflite file has no subgraph: re-export the model")
    graph = parsed.subgraphs[0]
    tensors = []
    for i, t in enumerate(graph.tensors or []):
        dtype = _TYPE_NAMES.get(t.type, str(t.type))
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        q = t.quantization
        scales = tuple(float(s) for s in q.scale) if q is not None and q.scale is not None else ()
        zps = (tuple(int(z) for z in q.zeroPoint)
               if q is not None and q.zeroPoint is not None else ())
        buffer = parsed.buffers[t.buffer] if parsed.buffers and t.buffer < len(parsed.buffers) \
            else None
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name or "")
        tensors.append(Tensor(i, name, shape, dtype, scales, zps,
                              int(q.quantizedDimension) if q is not None else 0,
                              _buffer_data(model_bytes, buffer, dtype, shape)))
    operators = []
    for i, op in enumerate(graph.operators or []):
        code = parsed.operatorCodes[op.opcodeIndex]
        number = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = _OP_NAMES.get(number, f"BUILTIN_{number}")
        if name == "CUSTOM":
            custom = code.customCode.decode() if code.customCode else "?"
            name = f"CUSTOM:{custom}"
        operators.append(Operator(i, name, tuple(int(x) for x in op.inputs),
                                  tuple(int(x) for x in op.outputs), _options(op)))
    description = parsed.description.decode() if isinstance(parsed.description, bytes) else ""
    return TFLiteModel(model_bytes, tuple(tensors), tuple(operators),
                       tuple(int(x) for x in graph.inputs), tuple(int(x) for x in graph.outputs),
                       description)


def as_model(model: TFLiteModel | bytes | bytearray | str | Path) -> TFLiteModel:
    """Return the parsed model: a TFLiteModel as it is, .tflite bytes or a path parsed."""
    return model if isinstance(model, TFLiteModel) else load_tflite(model)


def count_macs(model: TFLiteModel | bytes | bytearray | str | Path,
               nonzero_only: bool = False) -> int:
    """Return the multiply-accumulates of one inference (conv, depthwise, fully connected).

    ``nonzero_only`` counts only those with a nonzero weight: what a sparse kernel executes.
    """
    parsed = as_model(model)
    total = 0
    for op in parsed.operators:
        if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        y, w = parsed.tensors[op.outputs[0]], parsed.tensors[op.inputs[1]]
        weights = np.count_nonzero(w.data) if nonzero_only else w.size
        outputs_per_weight = y.size // w.shape[0] if op.op != "DEPTHWISE_CONV_2D" else \
            y.size // w.shape[3]
        total += int(weights) * outputs_per_weight
    return total


def summary(model: TFLiteModel | bytes | bytearray | str | Path) -> str:
    """Return a readable table of the model's operators and their tensors."""
    model = as_model(model)
    lines = [f"{len(model.model_bytes)} bytes, ops: {', '.join(model.ops)}"]
    for op in model.operators:
        lines.append(f"#{op.index} {op.op}")
        for role, indices in (("in", op.inputs), ("out", op.outputs)):
            for i in indices:
                if i < 0:
                    continue
                t = model.tensors[i]
                q = f" scale={t.scale:.6g} zp={t.zero_point}" if t.scales else ""
                per = f" ({len(t.scales)} scales)" if len(t.scales) > 1 else ""
                const = " const" if t.is_constant else ""
                lines.append(f"   {role:3} {t.dtype:7} {list(t.shape)}{q}{per}{const}  {t.name}")
    return "\n".join(lines)
