"""Affine quantization and TFLite's integer arithmetic, in numpy (lesson 04; reused in 05).

Conventions follow TFLite: real = scale * (q - zero_point); rounding is half away from zero
(``std::round``), not numpy's half to even; int8 weights are symmetric (zero point 0, range
-127..127), per output channel for convolutions; requantization uses a 32-bit fixed-point
multiplier with double rounding (gemmlowp's SaturatingRoundingDoublingHighMul, then
RoundingDivideByPOT), as TFLM does by default.
"""

import math

import numpy as np
import torch

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def round_half_away(x: np.ndarray | float) -> np.ndarray:
    """Round to the nearest integer, ties away from zero (C's round; np.round goes to even)."""
    x = np.asarray(x)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def qrange(bits: int = 8, signed: bool = True) -> tuple[int, int]:
    """Return (qmin, qmax) of a ``bits``-wide integer, e.g. (-128, 127) or (0, 255)."""
    if not isinstance(bits, int | np.integer) or not 2 <= bits <= 32:
        raise ValueError(f"bits must be an int in 2..32, got {bits!r}")
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


def choose_qparams(
    xmin: np.ndarray | float, xmax: np.ndarray | float, bits: int = 8, signed: bool = True,
    symmetric: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (scale, zero_point) mapping [xmin, xmax] onto ``bits``-bit integers.

    The range is widened to contain 0.0, and the zero point is an integer inside the integer
    range, so 0.0 (padding, ReLU) is exactly representable. Symmetric mode fixes the zero point
    at 0 and uses -qmax..qmax (TFLite's int8 weights). Works elementwise (per channel).
    """
    xmin, xmax = np.asarray(xmin, dtype=np.float64), np.asarray(xmax, dtype=np.float64)
    if np.any(~np.isfinite(xmin)) or np.any(~np.isfinite(xmax)):
        raise ValueError("xmin and xmax must be finite")
    if np.any(xmin > xmax):
        raise ValueError(f"xmin must be <= xmax, got {xmin} and {xmax}")
    xmin, xmax = np.minimum(xmin, 0.0), np.maximum(xmax, 0.0)
    qmin, qmax = qrange(bits, signed)
    if symmetric:
        if not signed:
            raise ValueError("symmetric quantization needs a signed integer type (signed=True)")
        scale = np.maximum(np.abs(xmin), xmax) / qmax
        zero_point = np.zeros_like(scale, dtype=np.int64)
    else:
        scale = (xmax - xmin) / (qmax - qmin)
        safe = np.where(scale > 0, scale, 1.0)
        zero_point = np.clip(qmin - round_half_away(xmin / safe), qmin, qmax).astype(np.int64)
    # An all-zero range would divide by zero later: any positive scale represents it exactly.
    scale = np.where(scale > 0, scale, 1.0)
    return scale, zero_point


def _along(param: np.ndarray | float, ndim: int, axis: int | None) -> np.ndarray:
    """Shape a per-channel parameter so that it broadcasts along ``axis`` of an ndim array."""
    param = np.asarray(param)
    if axis is None or param.ndim == 0:
        return param
    shape = [1] * ndim
    shape[axis] = -1
    return param.reshape(shape)


def quantize(
    x: np.ndarray, scale: np.ndarray | float, zero_point: np.ndarray | int,
    dtype: type = np.int8, axis: int | None = None, bits: int | None = None,
) -> np.ndarray:
    """Quantize: clamp(round_half_away(x / scale) + zero_point) in ``dtype`` (or ``bits``) range.

    ``axis`` names the channel axis when ``scale``/``zero_point`` are per channel.
    """
    x = np.asarray(x)
    info = np.iinfo(dtype)
    qmin, qmax = qrange(bits, info.min < 0) if bits is not None else (int(info.min), int(info.max))
    if qmin < info.min or qmax > info.max:
        raise ValueError(f"{bits} bits do not fit in {np.dtype(dtype).name}")
    scale = _along(scale, x.ndim, axis)
    zero_point = _along(zero_point, x.ndim, axis)
    if np.any(scale <= 0):
        raise ValueError("scale must be positive")
    if np.any(zero_point < qmin) or np.any(zero_point > qmax):
        raise ValueError(f"zero_point must lie in the integer range [{qmin}, {qmax}]")
    # x / scale in x's own precision (TFLite divides float32 by float32), then round as C does.
    q = round_half_away(x / scale.astype(x.dtype if x.dtype.kind == "f" else np.float64))
    return np.clip(q + zero_point, qmin, qmax).astype(dtype)


def dequantize(
    q: np.ndarray, scale: np.ndarray | float, zero_point: np.ndarray | int, axis: int | None = None,
) -> np.ndarray:
    """Map integers back to reals: scale * (q - zero_point), as float32."""
    q = np.asarray(q)
    scale = _along(scale, q.ndim, axis)
    zero_point = _along(zero_point, q.ndim, axis)
    return (scale * (q.astype(np.int64) - zero_point)).astype(np.float32)


def per_channel_qparams(
    w: np.ndarray, axis: int = 0, bits: int = 8, symmetric: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Return one (scale, zero_point) per slice of ``w`` along ``axis`` (output channels: 0)."""
    w = np.asarray(w)
    reduce = tuple(d for d in range(w.ndim) if d != axis % w.ndim)
    return choose_qparams(w.min(axis=reduce), w.max(axis=reduce), bits, True, symmetric)


def fake_quant_error(w: np.ndarray, axis: int | None = 0, bits: int = 8,
                     symmetric: bool = True) -> np.ndarray:
    """Return w - dequantize(quantize(w)) per tensor (axis None) or per channel (lesson 04 plots)."""
    w = np.asarray(w, dtype=np.float64)
    if axis is None:
        scale, zp = choose_qparams(w.min(), w.max(), bits, True, symmetric)
    else:
        scale, zp = per_channel_qparams(w, axis, bits, symmetric)
    q = quantize(w, scale, zp, np.int32, axis=axis, bits=bits)
    return w - dequantize(q, scale, zp, axis=axis)


class FakeQuantSTE(torch.autograd.Function):
    """Quantize-dequantize in the forward pass; pass gradients straight through inside the range."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor,
                qmin: int, qmax: int) -> torch.Tensor:
        # Round half away from zero, as TFLite's kernels do (torch.round goes half to even).
        q = torch.sign(x / scale) * torch.floor(torch.abs(x / scale) + 0.5)
        ctx.save_for_backward((q + zero_point >= qmin) & (q + zero_point <= qmax))
        return (torch.clamp(q + zero_point, qmin, qmax) - zero_point) * scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inside,) = ctx.saved_tensors
        # Rounding has zero gradient almost everywhere; the STE treats it as the identity, and
        # clamped values get no gradient (their output does not move with x).
        return grad * inside, None, None, None, None


def fake_quantize(x: torch.Tensor, scale: torch.Tensor | float, zero_point: torch.Tensor | int,
                  bits: int = 8, signed: bool = True) -> torch.Tensor:
    """Quantize and dequantize ``x`` with a straight-through gradient (QAT, lesson 04)."""
    qmin, qmax = qrange(bits, signed)
    scale = torch.as_tensor(scale, dtype=x.dtype)
    zero_point = torch.as_tensor(zero_point, dtype=x.dtype)
    return FakeQuantSTE.apply(x, scale, zero_point, qmin, qmax)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """Return (multiplier, shift) with real ~= multiplier * 2**(shift - 31), multiplier in [2**30, 2**31).

    TFLite's QuantizeMultiplier: frexp, then round the mantissa to Q31 (half away from zero).
    A positive shift is a left shift. ``real`` must be a finite non-negative number.
    """
    real = float(real)
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"real must be a finite non-negative number, got {real}")
    if real == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real)  # real = mantissa * 2**shift, mantissa in [0.5, 1)
    q = int(round_half_away(mantissa * 2**31))
    if q == 2**31:  # the mantissa rounded up to 1.0
        q //= 2
        shift += 1
    if shift < -31:  # too small for any int32 product to reach 1 LSB
        return 0, 0
    if shift > 31:  # softmax's input multiplier reaches 2**31 - 1 (shift 31); nothing needs more
        raise ValueError(f"real {real} is too large for a Q31 multiplier with shift <= 31")
    return q, shift


def _as_int64(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"expected integers, got {x.dtype}")
    return x.astype(np.int64)


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """Return the high 32 bits of 2*a*b, rounded to nearest, saturating (gemmlowp), as int32."""
    a, b = np.broadcast_arrays(_as_int64(a), _as_int64(b))
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    num = ab + nudge
    # C integer division truncates toward zero; numpy's // floors.
    high = np.sign(num) * (np.abs(num) // (1 << 31))
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return np.where(overflow, INT32_MAX, high).astype(np.int32)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    """Return x / 2**exponent rounded to nearest, ties away from zero (gemmlowp), as int32."""
    x, exponent = np.broadcast_arrays(_as_int64(x), _as_int64(exponent))
    if np.any(exponent < 0) or np.any(exponent > 31):
        raise ValueError("exponent must be in 0..31")
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return ((x >> exponent) + (remainder > threshold)).astype(np.int32)


def multiply_by_quantized_multiplier(
    x: np.ndarray, multiplier: np.ndarray | int, shift: np.ndarray | int,
) -> np.ndarray:
    """Requantize int32 accumulators: x * multiplier * 2**(shift-31) with TFLite's double rounding."""
    x = _as_int64(x)
    shift = _as_int64(shift)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = np.clip(x * (np.int64(1) << left), INT32_MIN, INT32_MAX)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def multiply_by_quantized_multiplier_single_rounding(
    x: np.ndarray, multiplier: np.ndarray | int, shift: np.ndarray | int,
) -> np.ndarray:
    """Requantize with one rounding: (x * multiplier + 2**(30-shift)) >> (31-shift) in int64."""
    x, multiplier, shift = _as_int64(x), _as_int64(multiplier), _as_int64(shift)
    total = 31 - shift
    return ((x * multiplier + (np.int64(1) << (total - 1))) >> total).astype(np.int32)


def integer_fully_connected(
    x_q: np.ndarray, input_zero_point: int, w_q: np.ndarray, bias_q: np.ndarray | None,
    multiplier: np.ndarray | int, shift: np.ndarray | int, output_zero_point: int,
    act_min: int = -128, act_max: int = 127,
) -> np.ndarray:
    """Run TFLite's int8 FULLY_CONNECTED: int32 accumulate, requantize, add zero point, clamp."""
    x_q, w_q = _as_int64(x_q), _as_int64(w_q)
    if x_q.shape[-1] != w_q.shape[1]:
        raise ValueError(f"x has {x_q.shape[-1]} features but w expects {w_q.shape[1]}")
    acc = (x_q - input_zero_point) @ w_q.T  # weights are symmetric: their zero point is 0
    if bias_q is not None:
        acc = acc + _as_int64(bias_q)
    out = multiply_by_quantized_multiplier(acc, multiplier, shift) + np.int64(output_zero_point)
    return np.clip(out, act_min, act_max).astype(np.int8)


# ---- the whole int8 model in numpy integers (checked against TFLite's reference kernels) ----


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """Return the int8 clamp of a fused activation, as TFLite/TFLM compute it (float32 divide)."""
    qmin, qmax = qrange(8, True)

    def q(value: float) -> int:
        return zero_point + int(round_half_away(np.float32(value) / np.float32(scale)))

    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, q(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(f"fused activation {activation!r} is not supported "
                     "(NONE, RELU, RELU6, RELU_N1_TO_1)")


def channel_multipliers(input_scale: float, weight_scales, output_scale: float, n: int):
    """Return per-output-channel (multipliers, shifts) for in*w/out, computed in double as TFLite."""
    scales = np.broadcast_to(np.asarray(weight_scales, dtype=np.float64), (n,))
    pairs = [quantize_multiplier(float(np.float64(input_scale) * s / np.float64(output_scale)))
             for s in scales]
    return (np.array([m for m, _ in pairs], dtype=np.int64),
            np.array([s for _, s in pairs], dtype=np.int64))


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
    model_bytes: bytes, X: np.ndarray | torch.Tensor, kernels: str = "tflm",
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
    from edgecourse.tflite_model import load_tflite

    model = load_tflite(model_bytes)
    if not model.is_int8:
        raise ValueError("run_integer_reference needs a full-int8 model (int8 inputs and outputs): "
                         "export it with to_tflite(net, X, mode='int8')")
    tensors = model.tensors
    (inp,) = model.input_tensors
    X = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
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
