"""Runtimes for an int8 ``.tflite``: the integer reference in numpy (bit-exact with TFLM)."""

import numpy as np

from edgecourse.deploy.tflite_model import load_tflite
from edgecourse.lab.arithmetic import (
    activation_range,
    channel_multipliers,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_single_rounding,
    quantize,
)


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def _windows(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, padding: str, fill: int):
    """Return (N, OH, OW, KH, KW, C) windows of NHWC ``x``, padded with ``fill`` for SAME."""
    _, h, w, _ = x.shape
    if padding == "SAME":
        oh, top, bottom = _same_padding(h, kh, sh)
        ow, left, right = _same_padding(w, kw, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    elif padding == "VALID":
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    else:
        raise ValueError(f"padding {padding!r} is not supported (SAME, VALID)")
    view = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    return view[:, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw].transpose(0, 1, 2, 4, 5, 3)


def _requantize(acc, multipliers, shifts, out_zp: int, act: tuple[int, int],
                single: bool = False) -> np.ndarray:
    rescale = multiply_by_quantized_multiplier_single_rounding if single \
        else multiply_by_quantized_multiplier
    out = rescale(acc, multipliers, shifts) + np.int64(out_zp)
    return np.clip(out, *act).astype(np.int8)


KERNELS = ("tflm", "tflite_ref")


def run_integer_reference(
    model_bytes: bytes, X, kernels: str = "tflm",
) -> np.ndarray:
    """Run an int8 .tflite model in numpy integers only; return its int8 outputs (N, ...).

    Supports the course CNN's ops (CONV_2D, MAX_POOL_2D, RESHAPE, FULLY_CONNECTED). Float
    images (N, C, H, W) are quantized with the model's input scale and zero point first.
    ``kernels="tflm"`` requantizes every layer with double rounding, bit-exact with the TFLM
    runtime; ``"tflite_ref"`` rounds FULLY_CONNECTED once, bit-exact with TF 2.21's TFLite
    interpreter on BUILTIN_REF kernels (whose FC kernel differs from TFLM's there).
    """
    if kernels not in KERNELS:
        raise ValueError(f"kernels must be one of {KERNELS}, got {kernels!r}")
    model = load_tflite(model_bytes)
    if not model.is_int8:
        raise ValueError("run_integer_reference needs a full-int8 model (int8 inputs and outputs): "
                         "export it with to_tflite(net, X, mode='int8')")
    tensors = model.tensors
    (inp,) = model.input_tensors
    X = X.detach().cpu().numpy() if hasattr(X, "detach") else np.asarray(X)  # a torch tensor
    hwc = tuple(inp.shape[1:])
    if X.ndim == 4 and X.shape[1:] != hwc and X.transpose(0, 2, 3, 1).shape[1:] == hwc:
        X = X.transpose(0, 2, 3, 1)  # the course's NCHW images -> TFLite's NHWC
    if X.ndim != 4 or X.shape[1:] != hwc:
        raise ValueError(f"X must be images (N, C, H, W) matching the model input {inp.shape}")
    if X.dtype.kind == "f":
        X = quantize(X.astype(np.float32), inp.scale, inp.zero_point, np.int8)
    values = {inp.index: X.astype(np.int8)}
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
            mult, shift = channel_multipliers(x_t.scale, w_t.scales, out_t.scale, w.shape[0])
            if op.op == "CONV_2D":
                if (o.get("dilationHFactor", 1), o.get("dilationWFactor", 1)) != (1, 1):
                    raise ValueError("dilated CONV_2D is not supported by the integer reference")
                win = _windows(x - x_t.zero_point, w.shape[1], w.shape[2], o["strideH"],
                               o["strideW"], o["padding"], 0)  # pad with real 0.0 = zero point
                acc = np.tensordot(win, w, axes=([3, 4, 5], [1, 2, 3]))
            else:
                acc = (x.reshape(len(x), -1) - x_t.zero_point) @ w.T
            if b is not None:
                acc = acc + b.astype(np.int64)
            single = kernels == "tflite_ref" and op.op == "FULLY_CONNECTED"
            y = _requantize(acc, mult, shift, out_t.zero_point, act, single)
        elif op.op == "MAX_POOL_2D":
            win = _windows(x, o["filterHeight"], o["filterWidth"], o["strideH"], o["strideW"],
                           o["padding"], -(2**31))
            y = np.clip(win.max(axis=(3, 4)), *act).astype(np.int8)
        elif op.op == "RESHAPE":
            y = x.reshape(len(x), *out_t.shape[1:]).astype(np.int8)
        else:
            raise ValueError(f"op {op.op} is not supported by the integer reference "
                             "(CONV_2D, MAX_POOL_2D, RESHAPE, FULLY_CONNECTED)")
        values[out_t.index] = y
    return np.stack([values[i] for i in model.outputs]) if len(model.outputs) > 1 \
        else values[model.outputs[0]]
