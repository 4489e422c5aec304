"""Hidden tests of lesson 05_mcu_porting (instructor only; see README.md).

The models are small int8 ``.tflite`` flatbuffers written here with TFLite's own schema (no
TensorFlow, no training: milliseconds), in the shapes of the course CNN and a few others. The C
kernel and the C++ model array are compiled with the host's gcc / g++ inside the child's folder.
"""

import os
import re
import subprocess
from pathlib import Path

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from edgecourse.deploy.tflite_model import Operator, Tensor, TFLiteModel, load_tflite

FORBIDDEN = {
    "quantize_images": ("edgecourse.lab.arithmetic:quantize",
                        "edgecourse.lab.arithmetic:round_half_away",
                        "edgecourse.deploy.runtimes:model_input",
                        "edgecourse.deploy.runtimes:to_nhwc"),
    "FC_KERNEL_C": ("edgecourse.deploy.firmware.templating:runtime_text",
                    "edgecourse.deploy.firmware.toolchain:runtime_files",
                    "edgecourse.deploy.firmware.codegen_c:generate_c"),
    "chain_arena_bytes": ("edgecourse.deploy.firmware.buffer_plan:plan_buffers",
                          "edgecourse.deploy.tflm:measure_arena"),
    "model_data_cc": ("edgecourse.deploy.firmware.codegen_c:c_array",
                      "edgecourse.deploy.firmware.tflm_project:generate_tflm",
                      "edgecourse.deploy.firmware.templating:render"),
    "PREDICTED_RANKING": ("edgecourse.deploy.firmware.verify:verify_c",
                          "edgecourse.deploy.firmware.verify:verify_tflm"),
}

# The float32 scale of the course model's input (1/255 as TFLite stores it).
INPUT_SCALE = float(np.float32(1 / 255))
MODELS = "__hidden_models_05__"  # where setup_* leaves the flatbuffers in the namespace


# ---- Small int8 .tflite models, written with the flatbuffers schema ---------------------------

class _Graph:
    """A one-subgraph int8 model under construction (seeded weights)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.tensors, self.buffers, self.ops, self.codes = [], [fb.BufferT()], [], []

    def tensor(self, shape, dtype="INT8", scale=None, zero_point=0, data=None):
        t = fb.TensorT()
        t.shape, t.name, t.buffer = list(shape), f"t{len(self.tensors)}".encode(), 0
        t.type = getattr(fb.TensorType, dtype)
        if scale is not None:
            q = fb.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            q.zeroPoint = [int(z) for z in np.broadcast_to(zero_point, len(q.scale))]
            t.quantization = q
        if data is not None:
            buffer = fb.BufferT()
            buffer.data = list(np.ascontiguousarray(data).tobytes())
            self.buffers.append(buffer)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def _q(self, i):
        q = self.tensors[i].quantization
        return q.scale[0], q.zeroPoint[0]

    def op(self, name, inputs, outputs, kind, options):
        code = getattr(fb.BuiltinOperator, name)
        if code not in self.codes:
            self.codes.append(code)
        o = fb.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = self.codes.index(code), list(inputs), list(outputs)
        o.builtinOptionsType, o.builtinOptions = getattr(fb.BuiltinOptions, kind), options
        self.ops.append(o)
        return outputs[0]

    def conv(self, x, channels, scale, zero_point):
        _, h, w, depth = self.tensors[x].shape
        x_scale = self._q(x)[0]
        w_scales = self.rng.uniform(0.003, 0.01, channels)
        weights = self.tensor((channels, 3, 3, depth), "INT8", w_scales, 0,
                              self.rng.integers(-127, 128, (channels, 3, 3, depth), np.int8))
        bias = self.tensor((channels,), "INT32", w_scales * x_scale, 0,
                           self.rng.integers(-3000, 3000, channels, np.int32))
        options = fb.Conv2DOptionsT()
        options.padding, options.strideW, options.strideH = fb.Padding.SAME, 1, 1
        options.fusedActivationFunction = fb.ActivationFunctionType.RELU
        y = self.tensor((1, h, w, channels), "INT8", scale, zero_point)
        return self.op("CONV_2D", [x, weights, bias], [y], "Conv2DOptions", options)

    def pool(self, x, name="MAX_POOL_2D"):
        _, h, w, depth = self.tensors[x].shape
        options = fb.Pool2DOptionsT()
        options.padding, options.strideW, options.strideH = fb.Padding.VALID, 2, 2
        options.filterWidth, options.filterHeight = 2, 2
        y = self.tensor((1, h // 2, w // 2, depth), "INT8", *self._q(x))
        return self.op(name, [x], [y], "Pool2DOptions", options)

    def flatten(self, x):
        size = int(np.prod(self.tensors[x].shape))
        shape = self.tensor((2,), "INT32", data=np.array([1, size], np.int32))
        options = fb.ReshapeOptionsT()
        options.newShape = [1, size]
        y = self.tensor((1, size), "INT8", *self._q(x))
        return self.op("RESHAPE", [x, shape], [y], "ReshapeOptions", options)

    def dense(self, x, units, scale, zero_point, relu=False, bias=True):
        depth, x_scale = self.tensors[x].shape[1], self._q(x)[0]
        w_scale = float(self.rng.uniform(0.002, 0.01))
        weights = self.tensor((units, depth), "INT8", w_scale, 0,
                              self.rng.integers(-127, 128, (units, depth), np.int8))
        b = self.tensor((units,), "INT32", w_scale * x_scale, 0,
                        self.rng.integers(-2000, 2000, units, np.int32)) if bias else -1
        options = fb.FullyConnectedOptionsT()
        options.fusedActivationFunction = fb.ActivationFunctionType.RELU if relu else 0
        y = self.tensor((1, units), "INT8", scale, zero_point)
        return self.op("FULLY_CONNECTED", [x, weights, b], [y], "FullyConnectedOptions", options)

    def softmax(self, x):
        options = fb.SoftmaxOptionsT()
        options.beta = 1.0
        y = self.tensor(self.tensors[x].shape, "INT8", 1 / 256, -128)
        return self.op("SOFTMAX", [x], [y], "SoftmaxOptions", options)

    def finish(self, x, y) -> bytes:
        graph = fb.SubGraphT()
        graph.tensors, graph.operators, graph.inputs, graph.outputs = self.tensors, self.ops, [x], [y]
        model = fb.ModelT()
        model.version, model.subgraphs, model.buffers = 3, [graph], self.buffers
        model.description = b"edgecourse hidden test model"
        model.operatorCodes = []
        for code in self.codes:
            oc = fb.OperatorCodeT()
            oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
            model.operatorCodes.append(oc)
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _cnn() -> bytes:
    """The course CNN's shape: conv, pool, conv, pool, reshape, dense (ReLU), dense."""
    g = _Graph(1)
    x = g.tensor((1, 8, 8, 1), "INT8", INPUT_SCALE, -128)
    h = g.pool(g.conv(x, 8, 0.016, -128))
    h = g.flatten(g.pool(g.conv(h, 16, 0.047, -128)))
    return g.finish(x, g.dense(g.dense(h, 32, 0.09, -128, relu=True), 10, 0.26, 20))


def _mlp() -> bytes:
    """Dense (ReLU), dense without a bias (input -1), softmax."""
    g = _Graph(2)
    x = g.tensor((1, 20), "INT8", 0.05, 3)
    h = g.dense(g.dense(x, 16, 0.1, -5, relu=True), 6, 0.2, 0, bias=False)
    return g.finish(x, g.softmax(h))


def _avg() -> bytes:
    """Average pool, reshape, dense, softmax on a 6x6x3 input."""
    g = _Graph(3)
    x = g.tensor((1, 6, 6, 3), "INT8", 0.02, -10)
    return g.finish(x, g.softmax(g.dense(g.flatten(g.pool(x, "AVERAGE_POOL_2D")), 5, 0.1, 7)))


def _single() -> bytes:
    """One dense layer: a model of one op."""
    g = _Graph(4)
    x = g.tensor((1, 7), "INT8", 0.03, -1)
    return g.finish(x, g.dense(x, 3, 0.05, 2))


def _models() -> dict[str, bytes]:
    return {"cnn": _cnn(), "mlp": _mlp(), "avg": _avg(), "single": _single()}


def _models_of(ns) -> dict[str, bytes]:
    return ns.get(MODELS) or _models()


# ---- 1. quantize_images -----------------------------------------------------------------------

def _values(rng, shape, scale, lo, hi, dtype=np.float64):
    """Reals whose x / scale is k + f, f never near a half: float32 and float64 round alike."""
    k = rng.integers(lo, hi, shape)
    f = rng.choice([0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9], shape)
    return ((k + f) * scale).astype(dtype)


def _halves(scale, quotients, shape):
    """Exact ties: scale a power of two, quotients k + 0.5 (exact in float32 and float64)."""
    return (np.array(quotients, dtype=np.float64) * scale).reshape(shape)


def _quantize(f, X, scale, zero_point):
    import torch

    before = X.clone() if isinstance(X, torch.Tensor) else X.copy()
    q = f(X, scale, zero_point)
    same = bool(torch.equal(X, before)) if isinstance(X, torch.Tensor) else \
        bool(np.array_equal(X, before))
    return {"q": q, "dtype": str(getattr(q, "dtype", type(q).__name__)), "images unchanged": same}


def probe_quantize_images(ns, thorough):
    import torch

    f = ns["quantize_images"]
    rng = np.random.default_rng(5)
    digits = torch.tensor(rng.integers(0, 17, (5, 1, 8, 8)) / 16, dtype=torch.float32)
    cases = [
        ("a real 0 becomes the zero point; int8, NHWC (N, 8, 8, 1)",
         np.zeros((2, 1, 8, 8)), INPUT_SCALE, -128),
        ("values above the range clip to 127", np.full((1, 1, 8, 8), 100.0), 0.1, 0),
        ("values below the range clip to -128", np.full((1, 1, 1, 1), -100.0), 0.1, 0),
        ("round halves away from zero, like TFLite",
         np.array([0.25, 0.75, -0.25, -0.75]).reshape(1, 1, 2, 2), 0.5, 0),
        ("halves go away from zero, never to the even neighbour",
         _halves(0.25, [0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5, 64.5, -64.5], (1, 1, 2, 5)),
         0.25, 0),
        ("round x / scale first, then add the zero point (-128)",
         _halves(0.125, [0.5, 1.5, 2.5, 10.5, 120.5, -0.5, 3.0, 7.0], (1, 1, 2, 4)), 0.125, -128),
        ("round x / scale first, then add the zero point (+5)",
         _halves(0.5, [-4.5, -5.5, -6.5, 4.5, 5.5, -0.5], (1, 1, 3, 2)), 0.5, 5),
        ("saturate after adding the zero point, at both ends",
         _halves(0.5, [126.5, 127.4, 127.5, -128.4, -128.5, -129.0, 122.5, -133.5], (1, 1, 2, 4)),
         0.5, 0),
        ("saturate after adding the zero point (-128)",
         _halves(0.5, [254.5, 255.4, 255.5, 300.0, -0.4, -0.5, -1.0], (1, 1, 1, 7)), 0.5, -128),
        ("channels move to the last axis (NCHW -> NHWC), values unchanged",
         (np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5) - 60) * 0.5, 0.5, 3),
        ("a torch batch like digits.test.X (float32, the model's scale)", digits, INPUT_SCALE, -128),
        ("float32 images, another scale and zero point",
         _values(rng, (3, 1, 8, 8), 0.02, -70, 70, np.float32), 0.02, 10),
        ("a non-square image with 2 channels",
         _values(rng, (2, 2, 5, 7), 0.05, -140, 140), 0.05, -3),
        ("one 28x28 image", _values(rng, (1, 1, 28, 28), 1 / 64, -128, 128), 1 / 64, 0),
    ]
    if thorough:
        for i in range(30):
            shape = tuple(int(n) for n in rng.integers(1, 6, 4))
            scale = float(rng.choice([0.5, 0.125, 0.01, 0.037, INPUT_SCALE]))
            zp = int(rng.integers(-128, 128))
            cases.append((f"random {i}", _values(rng, shape, scale, -300, 300,
                                                 rng.choice([np.float32, np.float64])), scale, zp))
    for name, X, scale, zp in cases:
        yield name, lambda X=X, scale=scale, zp=zp: _quantize(f, X, scale, zp)


# ---- 2. FC_KERNEL_C ---------------------------------------------------------------------------

FC_PROTOTYPE = """
void fc_int8(const int8_t *x, const int8_t *w, const int32_t *bias,
             const int32_t *multiplier, const int32_t *shift, int depth, int units,
             int32_t in_offset, int32_t out_offset, int32_t act_min, int32_t act_max,
             int8_t *y);
"""
FC_HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 16

static int read_exact(void *buffer, size_t bytes) {
  return fread(buffer, 1, bytes, stdin) == bytes;
}

int main(void) {
  int32_t head[7];
  if (!read_exact(head, sizeof head)) return 2;
  const int rows = head[0], depth = head[1], units = head[2];
  int8_t *w = malloc((size_t)units * (size_t)depth);
  int8_t *x = malloc((size_t)depth);
  int8_t *y = malloc((size_t)units + GUARD);
  int32_t *bias = malloc(sizeof(int32_t) * (size_t)units);
  int32_t *mult = malloc(sizeof(int32_t) * (size_t)units);
  int32_t *shift = malloc(sizeof(int32_t) * (size_t)units);
  if (!w || !x || !y || !bias || !mult || !shift) return 3;
  if (!read_exact(w, (size_t)units * (size_t)depth) ||
      !read_exact(bias, sizeof(int32_t) * (size_t)units) ||
      !read_exact(mult, sizeof(int32_t) * (size_t)units) ||
      !read_exact(shift, sizeof(int32_t) * (size_t)units)) return 2;
  for (int r = 0; r < rows; ++r) {
    if (!read_exact(x, (size_t)depth)) return 2;
    memset(y, 0x5a, (size_t)units + GUARD);
    fc_int8(x, w, bias, mult, shift, depth, units, head[3], head[4], head[5], head[6], y);
    if (fwrite(y, 1, (size_t)units + GUARD, stdout) != (size_t)units + GUARD) return 4;
  }
  return 0;
}
"""
GUARD = 16


def setup_FC_KERNEL_C(ns):
    ns["__fc_prelude_05__"] = ns["FC_PRELUDE_C"]  # the prelude the exercise compiles after


class _Kernel:
    """The student's fc_int8, compiled once (on first use) into a program that reads vectors."""

    def __init__(self, prelude: str, source):
        self.prelude, self.source, self.program, self.error = prelude, source, None, None

    def build(self) -> Path:
        from edgecourse.deploy.firmware import toolchain

        if self.program is None and self.error is None:
            folder = Path("fc_kernel_probe").resolve()
            folder.mkdir(exist_ok=True)
            if not isinstance(self.source, str):
                self.error = "FC_KERNEL_C is not a str"
            else:
                (folder / "fc.c").write_text(self.prelude + FC_PROTOTYPE + self.source + FC_HARNESS)
                done = subprocess.run([toolchain.require_tool("gcc"), *toolchain.HOST_CFLAGS,
                                       "-o", "fc", "fc.c"], cwd=folder, capture_output=True,
                                      text=True, timeout=60)
                if done.returncode == 0:
                    self.program = folder / "fc"
                else:
                    self.error = "does not compile with gcc -Wall -Wextra -Werror"
        if self.program is None:
            raise RuntimeError(self.error)
        return self.program

    def __call__(self, X, W, bias, mult, shift, in_offset, out_offset, act_min, act_max):
        program = self.build()
        X, W = np.asarray(X, np.int8).reshape(len(X), -1), np.asarray(W, np.int8)
        units, depth = W.shape
        head = np.array([len(X), depth, units, in_offset, out_offset, act_min, act_max], np.int32)
        data = b"".join([head.tobytes(), W.tobytes(), np.asarray(bias, np.int32).tobytes(),
                         np.asarray(mult, np.int32).tobytes(),
                         np.asarray(shift, np.int32).tobytes(), X.tobytes()])
        done = subprocess.run([str(program)], input=data, capture_output=True, timeout=20)
        if done.returncode != 0 or len(done.stdout) != len(X) * (units + GUARD):
            raise RuntimeError(f"the test program crashed (exit {done.returncode})")
        out = np.frombuffer(done.stdout, np.int8).reshape(len(X), units + GUARD)
        return {"y": out[:, :units].copy(),
                "writes only y[0..units)": bool(np.all(out[:, units:] == 0x5a))}


def _requant(real):
    from edgecourse.lab.arithmetic import quantize_multiplier

    pairs = [quantize_multiplier(float(m)) for m in np.atleast_1d(real)]
    return np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.int32)


def _fc_vectors(rng, depth, units, rows, in_zp, out_zp, act, real, w_std=30.0, bias=3000,
                x_range=(-128, 128)):
    W = np.clip(np.round(rng.normal(0, w_std, (units, depth))), -127, 127).astype(np.int8)
    b = rng.integers(-bias, bias + 1, units).astype(np.int32)
    mult, shift = _requant(real)
    X = rng.integers(x_range[0], x_range[1], (rows, depth)).astype(np.int8)
    return X, W, b, mult, shift, -in_zp, out_zp, act[0], act[1]


def probe_FC_KERNEL_C(ns, thorough):
    kernel = _Kernel(ns.get("__fc_prelude_05__", ns["FC_PRELUDE_C"]), ns.get("FC_KERNEL_C"))
    rng = np.random.default_rng(2024)
    s_x, s_y = 0.0926251, 0.260653
    cases = [
        ("the model's last layer: 32 inputs, 10 outputs, input zero point -128, output 20",
         _fc_vectors(rng, 32, 10, 40, -128, 20, (-128, 127),
                     s_x * rng.uniform(0.003, 0.006, 10) / s_y)),
        ("a hidden layer with a fused ReLU: clamp at the output zero point",
         _fc_vectors(rng, 64, 32, 30, -128, -60, (-60, 127), rng.uniform(0.0004, 0.001, 32))),
        ("both clamp bounds inside int8", _fc_vectors(rng, 24, 12, 30, -10, 5, (-50, 60),
                                                      rng.uniform(0.001, 0.004, 12))),
        ("an input zero point above 0 (a negative in_offset)",
         _fc_vectors(rng, 16, 6, 30, 17, -3, (-128, 127), rng.uniform(0.002, 0.006, 6))),
        ("no offsets at all", _fc_vectors(rng, 20, 5, 30, 0, 0, (-128, 127),
                                          rng.uniform(0.001, 0.005, 5))),
        ("x at its zero point: only the bias is requantized",
         (np.full((3, 9), -7, np.int8), *_fc_vectors(rng, 9, 7, 1, -7, 11, (-128, 127),
                                                     rng.uniform(0.002, 0.02, 7),
                                                     bias=20000)[1:])),
        ("multipliers above 1: a positive shift (shift left before the multiply)",
         _fc_vectors(rng, 4, 6, 30, 0, 0, (-128, 127), rng.uniform(1.2, 7.0, 6), w_std=2.0,
                     bias=10, x_range=(-8, 8))),
        ("each output has its own multiplier and shift",
         _fc_vectors(rng, 30, 8, 30, -128, -2, (-128, 127), 2.0 ** -np.arange(4, 12) * 1.37)),
        ("outputs saturate at -128 and 127", _fc_vectors(rng, 40, 10, 30, -128, 0, (-128, 127),
                                                         rng.uniform(0.02, 0.05, 10))),
        ("one input, one output", _fc_vectors(rng, 1, 1, 50, 3, 1, (-128, 127), [0.3])),
        ("a long input (400 values): the accumulator grows large",
         _fc_vectors(rng, 400, 3, 10, -128, 0, (-128, 127), [1e-5, 2e-5, 4e-6], w_std=60.0,
                     bias=100000)),
        ("rounding ties in both steps go away from zero (not down, not to even)",
         (np.arange(-128, 128, dtype=np.int8).reshape(-1, 1), np.ones((5, 1), np.int8),
          np.zeros(5, np.int32), np.array([1 << 30, 1 << 30, 1 << 30, 3 << 29, 3 << 28], np.int32),
          np.array([0, -1, -3, -1, 1], np.int32), 0, 0, -128, 127)),
    ]
    if thorough:
        for i in range(30):
            depth, units = int(rng.integers(1, 80)), int(rng.integers(1, 20))
            lo = int(rng.integers(-128, 100))
            act = (lo, int(rng.integers(lo, 128)))
            cases.append((f"random {i}", _fc_vectors(
                rng, depth, units, 20, int(rng.integers(-128, 128)), int(rng.integers(-128, 128)),
                act, 10.0 ** rng.uniform(-4.5, -1.5, units))))
    for name, args in cases:
        yield name, lambda args=args: kernel(*args)


# ---- 3. chain_arena_bytes ---------------------------------------------------------------------

def _t(index, shape, dtype="INT8", constant=False):
    dtypes = {"INT8": np.int8, "INT32": np.int32, "FLOAT32": np.float32}
    data = np.zeros(shape, dtypes[dtype]) if constant else None
    return Tensor(index, f"t{index}", tuple(shape), dtype, (), (), 0, data)


def _graph(tensors, ops, inputs, outputs):
    """A TFLiteModel of (shape, dtype, constant) tensors and (op, inputs, outputs) operators."""
    return TFLiteModel(b"", tuple(_t(i, *t) for i, t in enumerate(tensors)),
                       tuple(Operator(k, op, tuple(a), tuple(b)) for k, (op, a, b) in
                             enumerate(ops)), tuple(inputs), tuple(outputs))


def _synthetic() -> list[tuple[str, TFLiteModel]]:
    return [
        ("tensors of 10 and 7 bytes round up to 12 and 8, each on its own", _graph(
            [((1, 10),), ((7, 10), "INT8", True), ((7,), "INT32", True), ((1, 7),), ((1, 7),)],
            [("FULLY_CONNECTED", (0, 1, 2), (3,)), ("SOFTMAX", (3,), (4,))], [0], [4])),
        ("a tensor's bytes are nbytes (4 per float32 value), not its element count", _graph(
            [((1, 5),), ((1, 5), "FLOAT32"), ((1, 5), "FLOAT32"), ((1, 5),)],
            [("DEQUANTIZE", (0,), (1,)), ("LOGISTIC", (1,), (2,)), ("QUANTIZE", (2,), (3,))],
            [0], [3])),
        ("an op with two activation inputs counts both", _graph(
            [((1, 9),), ((1, 9),), ((1, 9),), ((1, 3),)],
            [("ADD", (0, 1), (2,)), ("MEAN", (2,), (3,))], [0, 1], [3])),
        ("an op with two outputs counts both; a constant first input does not count", _graph(
            [((), "INT32", True), ((1, 12),), ((1, 6),), ((1, 6),), ((1, 6),)],
            [("SPLIT", (0, 1), (2, 3)), ("ADD", (2, 3), (4,))], [1], [4])),
        ("an input index of -1 is no tensor (not the last one)", _graph(
            [((1, 8),), ((4, 8), "INT8", True), ((1, 4),), ((1, 4),), ((1, 400),)],
            [("FULLY_CONNECTED", (0, 1, -1), (2,)), ("SOFTMAX", (2,), (3,))], [0], [3])),
        ("the largest op is in the middle of the chain", _graph(
            [((1, 4),), ((1, 30),), ((1, 50),), ((1, 2),), ((30, 4), "INT8", True)],
            [("FULLY_CONNECTED", (0, 4), (1,)), ("TILE", (1,), (2,)), ("MEAN", (2,), (3,))],
            [0], [3])),
        ("big weights live in flash: only the activations count", _graph(
            [((1, 3),), ((500, 3), "INT8", True), ((500,), "INT32", True), ((1, 500),)],
            [("FULLY_CONNECTED", (0, 1, 2), (3,))], [0], [3])),
    ]


def setup_chain_arena_bytes(ns):
    ns[MODELS] = _models()


def _arena(f, model):
    result = f(model)
    return {"bytes": result, "an int": isinstance(result, int) and not isinstance(result, bool)}


def probe_chain_arena_bytes(ns, thorough):
    f = ns["chain_arena_bytes"]
    models = _models_of(ns)
    cases = [("the course CNN's shape (conv, pool, conv, pool, reshape, dense, dense)",
              load_tflite(models["cnn"])),
             ("dense, dense without a bias, softmax", load_tflite(models["mlp"])),
             ("average pool, reshape, dense, softmax", load_tflite(models["avg"])),
             ("a model of one dense layer", load_tflite(models["single"])),
             *_synthetic()]
    if thorough:
        rng = np.random.default_rng(9)
        for i in range(30):
            sizes = rng.integers(1, 40, int(rng.integers(2, 8)))
            tensors = [((1, int(n)), str(rng.choice(["INT8", "INT32", "FLOAT32"]))) for n in sizes]
            ops = []
            for k in range(len(sizes) - 1):
                const = len(tensors)
                tensors.append(((int(rng.integers(1, 60)),), "INT8", True))
                ops.append(("OP", (k, const, -1), (k + 1,)))
            cases.append((f"random {i}", _graph(tensors, ops, [0], [len(sizes) - 1])))
    for name, model in cases:
        yield name, lambda model=model: _arena(f, model)


# ---- 4. model_data_cc -------------------------------------------------------------------------

def _array_literals(cc: str, name: str):
    """The values in the array's initializer: bytes if each is one 0x.. literal, else a note."""
    found = re.search(rf"\bg_{re.escape(name)}_model_data\s*\[[^\]]*\]\s*=\s*\{{(.*?)\}}", cc,
                      re.S)
    if not found:
        return "no initializer g_<name>_model_data[] = {...}"
    tokens = re.findall(r"[^\s,]+", found.group(1))
    if not all(re.fullmatch(r"0[xX][0-9a-fA-F]{1,2}", t) for t in tokens):
        return "not every value is a 0x.. literal"
    return bytes(int(t, 16) for t in tokens)


def _data_text(files, name: str) -> dict:
    header, source = files["model_data.h"], files["model_data.cc"]
    size = re.search(rf"\bg_{re.escape(name)}_model_data_size\s*=\s*(\d+)", header)
    return {"array declared in model_data.h": bool(re.search(
                rf"\bextern\b[^;]*\bg_{re.escape(name)}_model_data\s*\[", header)),
            "size constant in model_data.h": int(size.group(1)) if size else None,
            "array bytes as 0x.. literals": _array_literals(source, name)}


def _data_files(f, data: bytes, name: str) -> dict:
    files = f(data, name)
    return {"file names": sorted(files), **_data_text(files, name)}


MAIN_CC = """
#include <cstdio>
#include "model_data.h"
int main() {
  const unsigned int size = g_%(name)s_model_data_size;
  std::fwrite(&size, sizeof size, 1, stdout);
  std::fwrite(g_%(name)s_model_data, 1, size, stdout);
  return 0;
}
"""
ALIGN_CC = """
#include "model_data.cc"
static_assert(__alignof__(g_%(name)s_model_data) %% 16 == 0, "not 16-byte aligned");
"""


def _compiled(files, name: str, folder: str) -> dict:
    """Build model_data.cc with a main that prints the array; return what the program saw."""
    build = Path(folder).resolve()
    build.mkdir(exist_ok=True)
    for file in ("model_data.h", "model_data.cc"):
        (build / file).write_text(files[file])
    (build / "main.cc").write_text(MAIN_CC % {"name": name})
    (build / "align.cc").write_text(ALIGN_CC % {"name": name})
    from edgecourse.deploy.firmware import toolchain

    gxx = toolchain.require_tool("g++")

    def run(*args) -> bool:
        return subprocess.run([gxx, "-std=c++17", *args], cwd=build, capture_output=True,
                              timeout=120).returncode == 0

    alone = run("-Wall", "-Werror", "-c", "model_data.cc", "-o", "model_data.o")
    linked = alone and run("main.cc", "model_data.o", "-o", "main")
    seen = subprocess.run([str(build / "main")], capture_output=True, timeout=20).stdout \
        if linked else b""
    size = int(np.frombuffer(seen[:4], np.uint32)[0]) if len(seen) >= 4 else None
    return {"model_data.cc compiles alone (g++ -std=c++17 -Wall -Werror)": alone,
            "links with a main.cc that includes model_data.h": linked,
            "g_<name>_model_data_size seen by main.cc": size,
            "the array's bytes seen by main.cc": seen[4:],
            "the array is 16-byte aligned (alignas(16))": run("-fsyntax-only", "align.cc")}


def setup_model_data_cc(ns):
    ns[MODELS] = _models()


def probe_model_data_cc(ns, thorough):
    f = ns["model_data_cc"]
    models = _models_of(ns)
    rng = np.random.default_rng(4)
    cases = [("three bytes, named tiny", b"\x1c\x00\xff", "tiny"),
             ("a .tflite model, named digits", models["cnn"], "digits"),
             ("one byte", b"\x80", "one"),
             ("exactly twelve bytes", bytes(range(250, 256)) + bytes(range(6)), "twelve"),
             ("thirteen bytes: a last line of one", bytes(rng.integers(0, 256, 13, np.uint8)),
              "thirteen"),
             ("another model, a name with an underscore and a digit", models["mlp"],
              "kws_net2"),
             ("every byte value", bytes(range(256)) * 3, "all_bytes")]
    if thorough:
        for i in range(20):
            cases.append((f"random {i}", bytes(rng.integers(0, 256, int(rng.integers(1, 400)),
                                                            np.uint8)), f"m{i}"))
    for name, data, label in cases:
        yield name, lambda data=data, label=label: _data_files(f, data, label)
    for i, (name, data, label) in enumerate([
            ("builds and runs: three bytes", b"\x1c\x00\xff", "tiny"),
            ("builds and runs: a .tflite model", models["avg"], "person_detect"),
            ("builds and runs: thirteen bytes", bytes(range(13)), "thirteen")]):
        yield name, lambda data=data, label=label, i=i: _compiled(f(data, label), label,
                                                                  f"data_cc_{i}")


# ---- 5. firmware_sources ----------------------------------------------------------------------

MINE = ("model_data.h", "model_data.cc", "op_resolver.h")


def _capacity(resolver: str):
    """The N of MicroMutableOpResolver<N>, a literal or a constant defined in the header."""
    found = re.search(r"MicroMutableOpResolver\s*<\s*(\w+)\s*>", resolver)
    if not found:
        return None
    if found.group(1).isdigit():
        return int(found.group(1))
    value = re.search(rf"\b{found.group(1)}\s*=\s*(\d+)", resolver)
    return int(value.group(1)) if value else None


def _firmware(f, model_bytes, name, measured, budget):
    fw = f(model_bytes, name, measured, budget)
    resolver = fw["op_resolver.h"]
    return {
        "file names": sorted(fw),
        "the other files, from generate_tflm": {k: fw[k] for k in sorted(fw) if k not in MINE},
        "the model array": _data_text(fw, name),
        "Add...() calls (in any order)": sorted(re.findall(r"(?:\.|->)\s*(Add\w+)\s*\(",
                                                           resolver)),
        "the resolver's capacity N": _capacity(resolver),
        "op_resolver.h defines what main.cc uses": {
            "includes micro_mutable_op_resolver.h": bool(re.search(
                r'#include\s*[<"]tensorflow/lite/micro/micro_mutable_op_resolver\.h[>"]',
                resolver)),
            "ModelOpResolver": bool(re.search(r"\bModelOpResolver\b", resolver)),
            "RegisterOps": bool(re.search(r"\bRegisterOps\s*\(", resolver))},
        "op_resolver.h is yours, not generate_tflm's": "Generated by edgecourse" not in resolver,
    }


def setup_firmware_sources(ns):
    from edgecourse.deploy.firmware.tflm_tree import TREE_ENV

    ns[MODELS] = _models()
    # generate_tflm lists the TFLM sources of every tree it finds (for the Makefile); the jail
    # cannot look at ../shared (PermissionError), so point it at no tree: the Makefile lists none.
    for variable in TREE_ENV.values():
        os.environ[variable] = str(Path("no_tflm_tree").resolve())


def probe_firmware_sources(ns, thorough):
    f = ns["firmware_sources"]
    models = _models_of(ns)
    budget = 256 * 1024
    cases = [
        ("the course CNN's shape: each distinct op registered once, N = distinct ops",
         models["cnn"], "digits", 4608, budget),
        ("dense, dense without a bias, softmax", models["mlp"], "kws", 1000, budget),
        ("average pool, reshape, dense, softmax", models["avg"], "person", 1500, budget),
        ("a model of one op", models["single"], "tiny", 300, 64 * 1024),
        ("an arena larger than the RAM budget raises ValueError", models["cnn"], "digits", 4608,
         4608 // 2),
        ("the 1 KiB margin counts against the budget", models["mlp"], "kws", 2000, 2500),
        ("an arena that takes exactly the budget fits", models["mlp"], "kws", 2000, 3024),
        ("one byte short of the arena raises ValueError", models["mlp"], "kws", 2000, 3023),
    ]
    for name, model_bytes, label, measured, ram in cases:
        yield name, lambda m=model_bytes, label=label, measured=measured, ram=ram: _firmware(
            f, m, label, measured, ram)


# ---- 6. PREDICTED_RANKING ---------------------------------------------------------------------

ROUTES = ("generated C", "TFLM reference", "TFLM cmsis-nn")


def _rankings(ranking) -> dict:
    return {"keys": sorted(map(str, ranking)),
            "routes": {str(k): sorted(map(str, ranking[k])) for k in sorted(map(str, ranking))}}


def probe_PREDICTED_RANKING(ns, thorough):
    ranking = ns["PREDICTED_RANKING"]
    yield ("rank flash, ram and instructions, each a list of the three routes once",
           lambda: _rankings(ranking))
    yield "flash: count what each image must hold besides the weights", \
        lambda: [str(r) for r in ranking["flash"]]
    yield "RAM: which route allocates nothing at run time beyond its activations?", \
        lambda: str(list(ranking["ram"])[0])
    yield "instructions: compare portable C loops with kernels written for the Cortex-M4's SIMD", \
        lambda: [str(r) for r in ranking["instructions"]]
