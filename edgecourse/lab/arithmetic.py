"""TFLite's integer arithmetic in numpy: affine quantization, fixed-point requantization.

One implementation for the whole course: lesson 04 teaches it, the integer reference and the
firmware generator (:mod:`edgecourse.deploy`) compute their constants with it. Plain numpy, no
torch, so the firmware tools stay light.

Conventions follow TFLite: real = scale * (q - zero_point); rounding is half away from zero
(``std::round``), not numpy's half to even; int8 weights are symmetric (zero point 0, range
-127..127), per output channel for convolutions; requantization uses a 32-bit fixed-point
multiplier with double rounding (gemmlowp's SaturatingRoundingDoublingHighMul, then
RoundingDivideByPOT), as TFLM does by default.
"""

import math

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def round_half_away(x: np.ndarray | float) -> np.ndarray:
    """Round to the nearest integer, ties away from zero (C's round; np.round goes to even)."""
    x = np.asarray(x)
    whole = np.trunc(x)
    # Not floor(|x| + 0.5): that sum rounds 0.49999997f up to 1. x - trunc(x) is always exact.
    return np.where(np.abs(x - whole) >= 0.5, whole + np.sign(x), whole)


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


def conv_multipliers(input_scale: float, filter_scales, output_scale: float
                     ) -> tuple[list[int], list[int]]:
    """Return per-channel (multipliers, shifts) of a conv/FC layer, as TFLM computes them.

    TFLM's PopulateConvolutionQuantizationParams: each scale as float32, widened to double, then
    in * filter / out. One filter scale (per-tensor) gives one pair, which broadcasts.
    """
    pairs = [quantize_multiplier(float(np.float32(input_scale)) * float(np.float32(s))
                                 / float(np.float32(output_scale)))
             for s in np.atleast_1d(filter_scales)]
    return [m for m, _ in pairs], [s for _, s in pairs]


def softmax_params(beta: float, input_scale: float) -> dict:
    """Return TFLM's int8 softmax constants: input multiplier, left shift and diff_min."""
    scaled_diff_integer_bits = 5
    real = min(float(np.float32(beta)) * float(np.float32(input_scale))
               * (1 << (31 - scaled_diff_integer_bits)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise ValueError("softmax input scale too small for TFLM's fixed-point softmax")
    max_input_rescaled = (1.0 * ((1 << scaled_diff_integer_bits) - 1)
                          * (1 << (31 - scaled_diff_integer_bits)) / (1 << left_shift))
    return {"input_multiplier": multiplier, "input_left_shift": left_shift,
            "diff_min": -math.floor(max_input_rescaled)}


def compute_padding(stride: int, dilation: int, in_size: int, filter_size: int,
                    out_size: int) -> int:
    """Return the leading padding TFLM uses for a SAME/VALID window (ComputePaddingHeightWidth)."""
    effective = (filter_size - 1) * dilation + 1
    total = (out_size - 1) * stride + effective - in_size
    return max(int(total / 2), 0)  # C division truncates toward zero
