"""The code-generation route: turn an int8 ``.tflite`` into dependency-free C99.

Weights become ``const`` arrays (flash), every activation lives in one static arena laid out by
:mod:`edgecourse.deploy.firmware.buffer_plan` (no malloc), each op becomes one call to a kernel of
``ec_kernels.c`` with its constants precomputed here the way TFLM computes them.
"""

from __future__ import annotations

import re

import numpy as np

from edgecourse.deploy.codebook import Codebook, find_codebooks
from edgecourse.deploy.firmware.buffer_plan import BufferPlan, plan_buffers
from edgecourse.deploy.firmware.templating import render, runtime_text
from edgecourse.deploy.tflite_model import Operator, TFLiteModel, as_model
from edgecourse.lab.arithmetic import (
    activation_range,
    compute_padding,
    conv_multipliers,
    softmax_params,
)

SUPPORTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE",
                 "FULLY_CONNECTED", "SOFTMAX")
KERNEL_FILES = ("ec_kernels.h", "ec_kernels.c")
CODEBOOK_FILES = ("ec_codebook.h", "ec_codebook.c")


def c_identifier(name: str) -> str:
    """Return a C identifier made from a model or file name."""
    ident = re.sub(r"\W", "_", name).strip("_").lower() or "model"
    return f"m_{ident}" if ident[0].isdigit() else ident


def c_array(values, per_line: int = 16, indent: str = "  ", hex_bytes: bool = False) -> str:
    """Return the body of a C array initializer (the one emitter of the C and TFLM routes)."""
    flat = [f"0x{int(v):02x}" if hex_bytes else str(int(v)) for v in np.asarray(values).reshape(-1)]
    return ",\n".join(indent + ", ".join(flat[i:i + per_line])
                      for i in range(0, len(flat), per_line))


def packed_rows(weights: np.ndarray) -> np.ndarray:
    """Return int8 weight rows laid out for ec_kernels.c's inner loop (flattened).

    Each row (one output channel) is padded with zeros to a multiple of 4 and every group of
    4 is stored w0 w2 w1 w3, so that SXTB16 of a 32-bit load gives (w0, w1) and, rotated by 8
    bits, (w2, w3): the pairs SMLAD multiplies with two int16 inputs. The rows of each pair of
    output channels are interleaved group by group (one pointer walks both); a last odd row
    follows alone.
    """
    rows = np.asarray(weights, dtype=np.int8).reshape(len(weights), -1)
    padded = np.zeros((len(rows), -(-rows.shape[1] // 4) * 4), dtype=np.int8)
    padded[:, :rows.shape[1]] = rows
    groups = padded.reshape(len(rows), -1, 4)[:, :, [0, 2, 1, 3]]
    even = len(rows) // 2 * 2
    pairs = groups[:even].reshape(even // 2, 2, -1, 4).transpose(0, 2, 1, 3)
    return np.concatenate([pairs.reshape(-1), groups[even:].reshape(-1)])


def csr_rows(weights: np.ndarray, taps: np.ndarray) -> dict[str, np.ndarray]:
    """Return the nonzero weights of each row (output channel) in compressed sparse rows.

    ``values`` holds the rows' nonzero int8 weights one row after another, ``index`` the input
    offset of each (``taps[j]`` for the weight in column j), ``count`` how many each row has:
    what ec_kernels.c's _sparse kernels walk.
    """
    rows = np.asarray(weights, dtype=np.int8).reshape(len(weights), -1)
    nonzero = rows != 0
    return {"values": rows[nonzero], "index": np.broadcast_to(taps, rows.shape)[nonzero],
            "count": nonzero.sum(axis=1)}


def csr_bytes(csr: dict[str, np.ndarray]) -> int:
    """Return the flash the CSR arrays take: 1 + 2 bytes per nonzero, 2 per row."""
    return 3 * len(csr["values"]) + 2 * len(csr["count"])


def check_int8(model: TFLiteModel) -> None:
    """Raise ValueError unless the model is a fully int8 model with only supported ops."""
    unsupported = [op for op in model.ops if op not in SUPPORTED_OPS]
    if unsupported:
        raise ValueError(f"op {', '.join(unsupported)} is not supported by the C generator "
                         f"(supported: {', '.join(SUPPORTED_OPS)}); use --target tflm instead")
    if not model.is_int8:
        types = sorted({t.dtype for t in model.input_tensors + model.output_tensors})
        raise ValueError(f"the model's inputs/outputs are {'/'.join(types)}, int8 is needed: "
                         "convert with a representative dataset and "
                         "inference_input_type = inference_output_type = tf.int8")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError("the C generator handles models with one input and one output")
    for op in model.operators:
        for i in op.inputs + op.outputs:
            t = model.tensors[i] if i >= 0 else None
            if t is not None and not t.is_constant and t.dtype != "INT8":
                raise ValueError(f"{op.op} #{op.index} has a {t.dtype} activation "
                                 f"{t.name!r}; the C generator needs int8 everywhere")


def _nhwc(shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 4 or shape[0] != 1:
        raise ValueError(f"expected a batch-1 NHWC tensor, got shape {list(shape)}")
    return shape[1], shape[2], shape[3]


class _Layers:
    """Collect the constant arrays and the per-op parameter structs."""

    def __init__(self, model: TFLiteModel, codebooks: dict[int, Codebook], sparse: bool):
        self.model = model
        self.codebooks = codebooks
        self.sparse = sparse  # CSR for every conv / fully connected weight tensor it shrinks
        self.scratch_bytes = 0  # the largest (weights + outputs) of one codebook channel
        self.column = 0  # int16 entries of g_column, the kernels' scratch (the largest need)
        self.arrays: list[dict] = []  # {"ctype", "name", "values"}
        self.layers: list[dict] = []  # {"ctype", "name", "fields", "call", "in", "out"}

    def array(self, ctype: str, name: str, values) -> str:
        self.arrays.append({"ctype": ctype, "name": name, "size": int(np.size(values)),
                            "body": c_array(values)})
        return name

    def weights(self, op: Operator, tag: str, fields: dict, kind: str, outputs: int,
                taps: np.ndarray, padded: int = 0) -> dict:
        """Return the kernel fields with packed int8 rows, sparse rows, or codebook indices.

        ``taps`` is the input offset of each weight of a row (what a sparse row indexes).
        """
        data = self.model.tensors[op.inputs[1]].data
        row = -(-data[0].size // 4) * 4
        if self.sparse:
            csr = csr_rows(data, taps)
            if csr_bytes(csr) < len(data) * row and taps.max() < 1 << 16:
                return self.sparse_weights(op, tag, fields, kind, csr, padded)
        # Scratch: two columns (conv: two output pixels at a time), two int32 sums per output
        # channel, then the conv's padded int16 input.
        self.column = max(self.column, 2 * row + 4 * len(data) + padded)
        fields = {**fields, "row": row, "column": "g_column"}
        book = self.codebooks.get(op.inputs[1])
        if book is None:
            return {**fields, "filter": self.array("int8_t", f"{tag}_filter", packed_rows(data))}
        self.scratch_bytes = max(self.scratch_bytes, row + outputs)
        # One padding byte: the decoder reads two bytes per index.
        packed = np.frombuffer(book.packed + b"\0", dtype=np.uint8)
        return {**{f"{kind}.{key}": value for key, value in fields.items()},
                f"{kind}.filter": "NULL",
                "codes.indices": self.array("uint8_t", f"{tag}_indices", packed),
                "codes.codebook": self.array("int8_t", f"{tag}_codebook", book.codebook),
                "codes.bits": book.bits, "codes.scratch": "g_codebook_scratch"}

    def sparse_weights(self, op: Operator, tag: str, fields: dict, kind: str,
                       csr: dict[str, np.ndarray], padded: int) -> dict:
        """Return the fields of a _sparse kernel: CSR arrays; conv's scratch is its padded input."""
        if kind == "fc":  # sum_d w (x_d + in_offset) + b = sum_d w x_d + (b + in_offset sum_d w)
            data = self.model.tensors[op.inputs[1]].data.astype(np.int64)
            bias = self.model.tensors[op.inputs[2]].data if fields["bias"] != "NULL" else 0
            self.arrays = [a for a in self.arrays if a["name"] != fields["bias"]]
            folded = bias + fields["in_offset"] * data.sum(axis=1)
            fields = {**fields, "bias": self.array("int32_t", f"{tag}_bias", folded),
                      "column": "NULL"}
        else:
            self.column = max(self.column, padded)
            fields = {**fields, "column": "g_column"}
        return {**{f"{kind}.{key}": value for key, value in fields.items()},
                f"{kind}.filter": "NULL",
                "csr.values": self.array("int8_t", f"{tag}_values", csr["values"]),
                "csr.index": self.array("uint16_t", f"{tag}_index", csr["index"]),
                "csr.count": self.array("uint16_t", f"{tag}_count", csr["count"])}

    def bias(self, op: Operator, tag: str) -> str:
        if len(op.inputs) < 3 or op.inputs[2] < 0:
            return "NULL"
        bias = self.model.tensors[op.inputs[2]]
        if bias.dtype != "INT32" or bias.data is None:
            raise ValueError(f"{op.op} #{op.index}: expected a constant int32 bias")
        return self.array("int32_t", f"{tag}_bias", bias.data)

    def conv(self, op: Operator, tag: str) -> dict:
        x, w, y = (self.model.tensors[op.inputs[0]], self.model.tensors[op.inputs[1]],
                   self.model.tensors[op.outputs[0]])
        o = op.options
        in_h, in_w, in_c = _nhwc(x.shape)
        out_h, out_w, out_c = _nhwc(y.shape)
        f_h, f_w = w.shape[1], w.shape[2]
        if op.op == "CONV_2D" and w.shape[3] != in_c:
            raise ValueError(f"CONV_2D #{op.index}: grouped convolution is not supported")
        if any(z != 0 for z in w.zero_points):
            raise ValueError(f"{op.op} #{op.index}: filter zero points must be 0 (symmetric)")
        scales = w.scales if len(w.scales) == out_c else w.scales * out_c
        mult, shift = conv_multipliers(x.scale, scales, y.scale)
        act_min, act_max = activation_range(o["fusedActivationFunction"], y.scale, y.zero_point)
        stride_h, stride_w = o["strideH"], o["strideW"]
        dil_h, dil_w = o.get("dilationHFactor", 1), o.get("dilationWFactor", 1)
        fields = {
            "in_h": in_h, "in_w": in_w, "in_c": in_c, "out_h": out_h, "out_w": out_w,
            "out_c": out_c, "f_h": f_h, "f_w": f_w, "stride_h": stride_h,
            "stride_w": stride_w, "dil_h": dil_h, "dil_w": dil_w,
            "pad_h": compute_padding(stride_h, dil_h, in_h, f_h, out_h),
            "pad_w": compute_padding(stride_w, dil_w, in_w, f_w, out_w),
            "depth_multiplier": o.get("depthMultiplier", 1) or 1,
            "in_offset": -x.zero_point, "out_offset": y.zero_point,
            "act_min": act_min, "act_max": act_max,
            "bias": self.bias(op, tag),
            "mult": self.array("int32_t", f"{tag}_mult", mult),
            "shift": self.array("int32_t", f"{tag}_shift", shift),
        }
        # The kernels copy the input as int16 inside a zero border reaching the last tap read.
        last_y = (out_h - 1) * stride_h + (f_h - 1) * dil_h
        last_x = (out_w - 1) * stride_w + (f_w - 1) * dil_w
        fields["padded_h"] = max(in_h + fields["pad_h"], last_y + 1)
        fields["padded_w"] = max(in_w + fields["pad_w"], last_x + 1)
        padded = fields["padded_h"] * fields["padded_w"] * in_c
        if op.op == "DEPTHWISE_CONV_2D":  # scratch: out_c int32 sums, then the padded input
            self.column = max(self.column, 2 * out_c + padded)
            return {**fields, "row": 0, "column": "g_column",
                    "filter": self.array("int8_t", f"{tag}_filter", w.data)}
        # The input offset of each weight (OHWI) from the receptive field's top left corner.
        fy, fx, ci = np.meshgrid(np.arange(f_h), np.arange(f_w), np.arange(in_c), indexing="ij")
        taps = (fy * dil_h * fields["padded_w"] + fx * dil_w) * in_c + ci
        return self.weights(op, tag, fields, "conv", out_h * out_w, taps.reshape(-1), padded)

    def pool(self, op: Operator) -> dict:
        x, y = self.model.tensors[op.inputs[0]], self.model.tensors[op.outputs[0]]
        o = op.options
        in_h, in_w, c = _nhwc(x.shape)
        out_h, out_w, _ = _nhwc(y.shape)
        if (x.scale, x.zero_point) != (y.scale, y.zero_point):
            raise ValueError(f"{op.op} #{op.index}: input and output quantization differ")
        act_min, act_max = activation_range(o["fusedActivationFunction"], y.scale, y.zero_point)
        f_h, f_w, s_h, s_w = o["filterHeight"], o["filterWidth"], o["strideH"], o["strideW"]
        return {"in_h": in_h, "in_w": in_w, "c": c, "out_h": out_h, "out_w": out_w,
                "f_h": f_h, "f_w": f_w, "stride_h": s_h, "stride_w": s_w,
                "pad_h": compute_padding(s_h, 1, in_h, f_h, out_h),
                "pad_w": compute_padding(s_w, 1, in_w, f_w, out_w),
                "act_min": act_min, "act_max": act_max}

    def fully_connected(self, op: Operator, tag: str) -> dict:
        x, w, y = (self.model.tensors[op.inputs[0]], self.model.tensors[op.inputs[1]],
                   self.model.tensors[op.outputs[0]])
        units, depth = w.shape
        if x.size % depth:
            raise ValueError(f"FULLY_CONNECTED #{op.index}: input size {x.size} is not a "
                             f"multiple of the weights' depth {depth}")
        if any(z != 0 for z in w.zero_points):
            raise ValueError(f"FULLY_CONNECTED #{op.index}: filter zero points must be 0 "
                             "(symmetric int8 weights, as TFLite's int8 scheme has them)")
        per_channel = len(w.scales) > 1
        mult, shift = conv_multipliers(x.scale, w.scales, y.scale)
        act_min, act_max = activation_range(op.options["fusedActivationFunction"], y.scale,
                                            y.zero_point)
        fields = {"batches": x.size // depth, "depth": depth, "units": units,
                  "per_channel": int(per_channel), "in_offset": -x.zero_point,
                  "out_offset": y.zero_point,
                  "act_min": act_min, "act_max": act_max,
                  "bias": self.bias(op, tag),
                  "mult": self.array("int32_t", f"{tag}_mult", mult),
                  "shift": self.array("int32_t", f"{tag}_shift", shift)}
        return self.weights(op, tag, fields, "fc", x.size // depth, np.arange(depth))

    def softmax(self, op: Operator) -> dict:
        x, y = self.model.tensors[op.inputs[0]], self.model.tensors[op.outputs[0]]
        if (round(y.scale * 256, 9), y.zero_point) != (1.0, -128):
            raise ValueError(f"SOFTMAX #{op.index}: int8 output must have scale 1/256 and "
                             f"zero point -128, got {y.scale} and {y.zero_point}")
        depth = x.shape[-1]
        return {"rows": x.size // depth, "depth": depth,
                **softmax_params(op.options.get("beta", 1.0), x.scale)}


_KERNELS = {
    "CONV_2D": ("ec_conv_t", "ec_conv2d"),
    "DEPTHWISE_CONV_2D": ("ec_conv_t", "ec_depthwise_conv2d"),
    "MAX_POOL_2D": ("ec_pool_t", "ec_max_pool2d"),
    "AVERAGE_POOL_2D": ("ec_pool_t", "ec_average_pool2d"),
    "FULLY_CONNECTED": ("ec_fc_t", "ec_fully_connected"),
    "SOFTMAX": ("ec_softmax_t", "ec_softmax"),
}


def generate_c(model, name: str = "model", codebook: bool = False,
               sparse: bool = False) -> dict[str, str]:
    """Return {file name: C source} of a dependency-free int8 C99 implementation of the model.

    ``codebook=True`` stores every CONV_2D / FULLY_CONNECTED weight tensor that takes few
    distinct values as packed indices plus an int8 codebook (lesson 06; see
    :func:`edgecourse.deploy.codebook.find_codebooks`). ``sparse=True`` stores every such
    tensor whose nonzero weights take fewer bytes in compressed sparse rows (:func:`csr_rows`,
    lesson 02's pruned models) and runs it with a kernel that skips the zeros.
    """
    if codebook and sparse:
        raise ValueError("choose one weight format: codebook (shared weights) or sparse "
                         "(pruned weights), not both")
    parsed = as_model(model)
    check_int8(parsed)
    prefix = c_identifier(name)
    plan: BufferPlan = plan_buffers(parsed)
    layers = _Layers(parsed, find_codebooks(parsed) if codebook else {}, sparse)
    steps = []
    for op in parsed.operators:
        tag = f"g_op{op.index}"
        src, dst = plan.offsets[op.inputs[0]], plan.offsets[op.outputs[0]]
        step = {"index": op.index, "op": op.op, "src": src, "dst": dst,
                "bytes": parsed.tensors[op.outputs[0]].nbytes}
        if op.op == "RESHAPE":
            steps.append({**step, "call": None})
            continue
        if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            fields = layers.conv(op, tag)
        elif op.op in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            fields = layers.pool(op)
        elif op.op == "FULLY_CONNECTED":
            fields = layers.fully_connected(op, tag)
        else:
            fields = layers.softmax(op)
        ctype, function = _KERNELS[op.op]
        for key, variant in (("codes.bits", "codebook"), ("csr.count", "sparse")):
            if key in fields:
                ctype, function = f"{ctype[:-2]}_{variant}_t", f"{function}_{variant}"
        steps.append({**step, "call": function, "ctype": ctype, "param": f"{tag}_params",
                      "fields": fields})
    x, y = parsed.input_tensors[0], parsed.output_tensors[0]
    context = {
        "prefix": prefix, "name": name, "ops": parsed.ops, "arrays": layers.arrays,
        "steps": steps, "arena_bytes": max(plan.arena_bytes, 4), "sum_bytes": plan.sum_bytes,
        "input": {"offset": plan.offsets[parsed.inputs[0]], "size": x.size,
                  "shape": list(x.shape), "scale": x.scale, "zero_point": x.zero_point},
        "output": {"offset": plan.offsets[parsed.outputs[0]], "size": y.size,
                   "shape": list(y.shape), "scale": y.scale, "zero_point": y.zero_point},
        "model_bytes": len(parsed.model_bytes), "scratch_bytes": layers.scratch_bytes,
        "column": layers.column,
    }
    files = {f"{prefix}.h": render("c/model.h.j2", context),
             f"{prefix}.c": render("c/model.c.j2", context)}
    for kernel in KERNEL_FILES + (CODEBOOK_FILES if layers.scratch_bytes else ()):
        files[kernel] = runtime_text(kernel)
    return files


def generate_harness(prefix: str, X: np.ndarray) -> dict[str, str]:
    """Return main.c and test_data.c: run the model on every int8 sample of X, print outputs."""
    X = np.asarray(X)
    if X.dtype != np.int8 or X.ndim < 2:
        raise TypeError("the test samples must be an int8 array of shape (N, ...) (quantized)")
    context = {"prefix": prefix, "count": len(X), "images": [c_array(x) for x in X]}
    return {"main.c": render("c/main.c.j2", context),
            "test_data.c": render("c/test_data.c.j2", context)}
