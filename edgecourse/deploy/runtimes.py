"""Run a ``.tflite`` three ways, on the same inputs, giving the same outputs.

- :func:`run_tflm`: TensorFlow Lite for Microcontrollers' own C++ interpreter (``tflite_micro``),
  what runs on the microcontroller, and the course's golden reference (lesson 05).
- :func:`run_tflite`: TFLite's interpreter on its plain reference kernels (lesson 04).
- :func:`run_integer_reference`: the int8 arithmetic in numpy, bit-exact with either (lesson 04).

Each takes the model (a TFLiteModel, .tflite bytes or a path) and X: the course's float NCHW
images, or inputs already in the model's layout and dtype. :func:`model_input` turns the first
into the second. Importing this module imports neither torch nor tensorflow.
"""

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from edgecourse.deploy import tflm_probe
from edgecourse.deploy.tflite_model import TFLiteModel, as_model
from edgecourse.lab.arithmetic import (
    activation_range,
    compute_padding,
    conv_multipliers,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_single_rounding,
    quantize,
)

#: Arena used when none is given: large enough for every course model, small for a PC.
DEFAULT_ARENA_BYTES = 1 << 20
KERNELS = ("tflm", "tflite_ref")


def to_nhwc(X, hwc: Sequence[int]) -> np.ndarray:
    """Return a batch in TFLite's NHWC layout, given the course's NCHW images (or NHWC ones).

    ``hwc`` is one sample's shape in the model. When C == H == W the batch is read as NCHW.
    """
    X = X.detach().cpu().numpy() if hasattr(X, "detach") else np.asarray(X)  # a torch tensor
    hwc = tuple(int(d) for d in hwc)
    if len(hwc) == 3 and X.ndim == 4 and X.shape[1:] == (hwc[2], hwc[0], hwc[1]):
        return np.ascontiguousarray(X.transpose(0, 2, 3, 1))
    if X.ndim == len(hwc) + 1 and X.shape[1:] == hwc:
        return X
    layouts = (f"(N, {hwc[2]}, {hwc[0]}, {hwc[1]}) or (N, {', '.join(map(str, hwc))})"
               if len(hwc) == 3 else f"(N, {', '.join(map(str, hwc))})")
    raise ValueError(f"X must be a batch of shape {layouts}, got shape {X.shape}")


def model_input(model, X) -> np.ndarray:
    """Return X as the model's input batch: NHWC, and quantized as TFLite's QUANTIZE op does.

    Float images become float32 (what a float input holds); for an integer input they are then
    quantized with its scale and zero point by :func:`edgecourse.lab.arithmetic.quantize`
    (float32 divide, ties away from zero). Integer X must already have the input's dtype.
    """
    spec = as_model(model).input_tensors[0]
    dtype = spec.numpy_dtype
    X = to_nhwc(X, spec.shape[1:])
    if X.dtype.kind == "f":
        X = X.astype(np.float32, copy=False)
        if dtype.kind in "iu":
            X = quantize(X, spec.scale, spec.zero_point, dtype)
    if X.dtype != dtype:
        raise TypeError(f"the model's input is {spec.dtype} but X holds {X.dtype}: pass float "
                        f"images (quantized here) or {dtype.name} inputs")
    if len(X) == 0:
        raise ValueError("X is an empty batch")
    return np.ascontiguousarray(X)


def _prepare(model, X, tensor_indices: Sequence[int] = ()) -> tuple[TFLiteModel, np.ndarray]:
    parsed = as_model(model)
    if len(parsed.inputs) != 1 or len(parsed.outputs) != 1:
        raise ValueError("the runtimes handle models with one input and one output tensor")
    if parsed.input_tensors[0].shape[:1] != (1,):
        raise ValueError(f"expected a model with a static batch of 1, got input shape "
                         f"{list(parsed.input_tensors[0].shape)}")
    for i in tensor_indices:
        if not 0 <= i < len(parsed.tensors):
            raise ValueError(f"tensor index {i} out of range (the model has "
                             f"{len(parsed.tensors)} tensors)")
    return parsed, model_input(parsed, X)


def _each_sample(parsed: TFLiteModel, X: np.ndarray, indices: Sequence[int],
                 run_one: Callable[[np.ndarray], list]) -> dict[int, np.ndarray]:
    """Run one sample at a time (batch 1); return {tensor index: its values (N, ...)}."""
    rows = [[np.array(values) for values in run_one(x[None])] for x in X]  # copies, not views
    return {i: np.stack([row[k] for row in rows]).reshape(len(X), *parsed.tensors[i].shape[1:])
            for k, i in enumerate(indices)}


def _run_tflm(model, X, keep: Sequence[int], arena_bytes: int) -> dict[int, np.ndarray]:
    parsed, X = _prepare(model, X, keep)
    it = tflm_probe.new_interpreter(parsed.model_bytes, arena_bytes, preserve_all_tensors=bool(keep))

    def run_one(x: np.ndarray) -> list:
        it.set_input(x, 0)
        it.invoke()
        return [it.get_output(0), *(it.GetTensor(i, 0)["tensor_data"] for i in keep)]

    return _each_sample(parsed, X, (parsed.outputs[0], *keep), run_one)


def run_tflm(model, X, arena_bytes: int = DEFAULT_ARENA_BYTES) -> np.ndarray:
    """Run X through the TFLM interpreter, one sample at a time; return its outputs (N, ...)."""
    parsed = as_model(model)
    return _run_tflm(parsed, X, (), arena_bytes)[parsed.outputs[0]]


def run_tflm_tensors(model, X, tensor_indices: Sequence[int],
                     arena_bytes: int = DEFAULT_ARENA_BYTES) -> dict[int, np.ndarray]:
    """Run X through TFLM keeping every tensor; return {index: values (N, ...)} (lesson 05)."""
    keep = tuple(int(i) for i in tensor_indices)
    values = _run_tflm(model, X, keep, arena_bytes)
    return {i: values[i] for i in keep}


def _run_tflite(model, X, keep: Sequence[int], reference_kernels: bool) -> dict[int, np.ndarray]:
    from edgecourse.lab.backend import tf as tensorflow  # torch first, then tensorflow

    parsed, X = _prepare(model, X, keep)
    tf = tensorflow()
    resolver = tf.lite.experimental.OpResolverType
    with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated": still TF's own
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(
            model_content=parsed.model_bytes, experimental_preserve_all_tensors=bool(keep),
            experimental_op_resolver_type=resolver.BUILTIN_REF if reference_kernels
            else resolver.AUTO)
    interpreter.allocate_tensors()
    indices = (parsed.outputs[0], *keep)

    def run_one(x: np.ndarray) -> list:
        interpreter.set_tensor(parsed.inputs[0], x)
        interpreter.invoke()
        return [interpreter.get_tensor(i) for i in indices]

    return _each_sample(parsed, X, indices, run_one)


def run_tflite(model, X, reference_kernels: bool = True) -> np.ndarray:
    """Run X through TFLite's interpreter, one sample at a time; return its outputs (N, ...).

    ``reference_kernels`` uses BUILTIN_REF, TFLite's plain C++ kernels (the default ones go
    through XNNPACK). Caution: in TF 2.21 its int8 FULLY_CONNECTED requantizes with single
    rounding, TFLM with double rounding, so outputs can differ from TFLM's by 1 LSB;
    :func:`run_integer_reference` reproduces both.
    """
    parsed = as_model(model)
    return _run_tflite(parsed, X, (), reference_kernels)[parsed.outputs[0]]


def run_tflite_tensors(model, X, tensor_indices: Sequence[int]) -> dict[int, np.ndarray]:
    """Run X through TFLite (BUILTIN_REF) keeping every tensor; return {index: values (N, ...)}."""
    keep = tuple(int(i) for i in tensor_indices)
    values = _run_tflite(model, X, keep, True)
    return {i: values[i] for i in keep}


def _windows(x: np.ndarray, out_hw: tuple[int, int], kernel: tuple[int, int],
             stride: tuple[int, int], fill: int) -> np.ndarray:
    """Return (N, OH, OW, KH, KW, C) windows of NHWC ``x``, padded as TFLM pads them."""
    (_, h, w, _), (oh, ow), (kh, kw), (sh, sw) = x.shape, out_hw, kernel, stride
    top, left = compute_padding(sh, 1, h, kh, oh), compute_padding(sw, 1, w, kw, ow)
    # A whole window of padding on the far side is always enough; the slices drop what is extra.
    x = np.pad(x, ((0, 0), (top, kh), (left, kw), (0, 0)), constant_values=fill)
    view = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    return view[:, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw].transpose(0, 1, 2, 4, 5, 3)


def _requantize(acc, multipliers, shifts, out_zp: int, act: tuple[int, int],
                single: bool = False) -> np.ndarray:
    rescale = multiply_by_quantized_multiplier_single_rounding if single \
        else multiply_by_quantized_multiplier
    out = rescale(acc, multipliers, shifts) + np.int64(out_zp)
    return np.clip(out, *act).astype(np.int8)


def run_integer_reference(model, X, kernels: str = "tflm") -> np.ndarray:
    """Run an int8 .tflite model in numpy integers only; return its int8 outputs (N, ...).

    Supports the course CNN's ops (CONV_2D, MAX_POOL_2D, RESHAPE, FULLY_CONNECTED).
    ``kernels="tflm"`` requantizes every layer with double rounding, bit-exact with the TFLM
    runtime; ``"tflite_ref"`` rounds FULLY_CONNECTED once, bit-exact with TF 2.21's TFLite
    interpreter on BUILTIN_REF kernels (whose FC kernel differs from TFLM's there).
    """
    if kernels not in KERNELS:
        raise ValueError(f"kernels must be one of {KERNELS}, got {kernels!r}")
    model = as_model(model)
    if not model.is_int8:
        raise ValueError("run_integer_reference needs a full-int8 model (int8 inputs and outputs): "
                         "export it with to_tflite(net, X, mode='int8')")
    model, X = _prepare(model, X)
    tensors = model.tensors
    values = {model.inputs[0]: X}
    for op in model.operators:
        x_t, out_t = tensors[op.inputs[0]], tensors[op.outputs[0]]
        x = values[x_t.index].astype(np.int64)
        o = op.options
        act = activation_range(o.get("fusedActivationFunction", "NONE"), out_t.scale,
                               out_t.zero_point)
        if op.op in ("CONV_2D", "FULLY_CONNECTED"):
            w_t = tensors[op.inputs[1]]
            b = tensors[op.inputs[2]].data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
            w = w_t.data.astype(np.int64)
            mult, shift = conv_multipliers(x_t.scale, w_t.scales, out_t.scale)
            if op.op == "CONV_2D":
                if (o.get("dilationHFactor", 1), o.get("dilationWFactor", 1)) != (1, 1):
                    raise ValueError("dilated CONV_2D is not supported by the integer reference")
                win = _windows(x - x_t.zero_point, out_t.shape[1:3], w.shape[1:3],
                               (o["strideH"], o["strideW"]), 0)  # pad with real 0.0 = zero point
                acc = np.tensordot(win, w, axes=([3, 4, 5], [1, 2, 3]))
            else:
                acc = (x.reshape(len(x), -1) - x_t.zero_point) @ w.T
            if b is not None:
                acc = acc + b.astype(np.int64)
            single = kernels == "tflite_ref" and op.op == "FULLY_CONNECTED"
            y = _requantize(acc, mult, shift, out_t.zero_point, act, single)
        elif op.op == "MAX_POOL_2D":
            win = _windows(x, out_t.shape[1:3], (o["filterHeight"], o["filterWidth"]),
                           (o["strideH"], o["strideW"]), -(2**31))
            y = np.clip(win.max(axis=(3, 4)), *act).astype(np.int8)
        elif op.op == "RESHAPE":
            y = x.reshape(len(x), *out_t.shape[1:]).astype(np.int8)
        else:
            raise ValueError(f"op {op.op} is not supported by the integer reference "
                             "(CONV_2D, MAX_POOL_2D, RESHAPE, FULLY_CONNECTED)")
        values[out_t.index] = y
    return values[model.outputs[0]]
