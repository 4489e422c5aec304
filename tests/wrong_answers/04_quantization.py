"""Plausible wrong answers for lesson 04, one per exercise (each must lose all its points)."""

WRONG = {
    # np.round rounds the 229.5 tie and 2.5 to even; the bound check is also off (>=)
    "seed_matrix": '''
def quantize_uint8(W: np.ndarray, scale: float) -> np.ndarray:
    """Return round_half_away(W / scale) clamped to 0..255, as uint8."""
    return np.clip(np.round(W / scale), 0, 255).astype(np.uint8)


def inconsistent_entries(W: np.ndarray, W_q: np.ndarray, scale: float) -> list[tuple[int, int]]:
    """Return the (row, col) pairs where |W - scale * W_q| > scale / 2 (1e-9 relative slack)."""
    error = np.abs(W - scale * W_q.astype(np.float64))
    return [(int(i), int(j)) for i, j in np.argwhere(error > scale / 2 * (1 + 1e-9))]
''',
    # the range is not widened to contain 0: the zero point leaves the integer range
    "choose_qparams": '''
def choose_qparams(xmin: float, xmax: float, bits: int = 8, signed: bool = True) -> tuple[float, int]:
    """Return (scale, zero_point) for [xmin, xmax] widened to contain 0, asymmetric."""
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    scale = (xmax - xmin) / (qmax - qmin)
    return float(scale), int(round(qmin - xmin / scale))
''',
    # half to even, and no saturation (wraps like a C cast)
    "quantize_dequantize": '''
def quantize(x: np.ndarray, scale, zero_point, qmin: int = -128, qmax: int = 127) -> np.ndarray:
    """Return clamp(round_half_away(x / scale) + zero_point, qmin, qmax) as int64."""
    q = np.round(np.asarray(x, dtype=np.float64) / scale) + zero_point
    return (q - qmin) % (qmax - qmin + 1) + qmin


def dequantize(q: np.ndarray, scale, zero_point) -> np.ndarray:
    """Return scale * (q - zero_point) as float64."""
    return scale * (np.asarray(q, dtype=np.float64) - zero_point)
''',
    # reduces over the wrong axis (input channels)
    "per_channel": '''
def per_channel_scales(w: np.ndarray, bits: int = 8) -> np.ndarray:
    """Return max|w| / qmax for each output channel (axis 0), symmetric."""
    qmax = 2 ** (bits - 1) - 1
    axes = tuple(d for d in range(w.ndim) if d != 1)
    return np.abs(w).max(axis=axes) / qmax
''',
    # a plain identity STE: clamped values still get gradient 1
    "fake_quant_ste": '''
class FakeQuantSTE(torch.autograd.Function):
    """Quantize-dequantize forward; straight-through gradient inside the range, 0 outside."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        r = x / scale
        q = torch.sign(r) * torch.floor(torch.abs(r) + 0.5) + zero_point
        return (torch.clamp(q, qmin, qmax) - zero_point) * scale

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None, None, None


def fake_quant(x, scale, zero_point, bits=8):
    """Apply FakeQuantSTE with the signed range of ``bits``."""
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    scale = torch.as_tensor(scale, dtype=x.dtype)
    return FakeQuantSTE.apply(x, scale, torch.as_tensor(zero_point, dtype=x.dtype), qmin, qmax)
''',
    # rounds once (the exact product), like a float multiply: differs from TFLM by 1 LSB at times
    "integer_fc": '''
def quantize_multiplier(real: float) -> tuple[int, int]:
    """Return (m, shift) with real ~= m * 2**(shift - 31) and m in [2**30, 2**31)."""
    if real == 0.0:
        return 0, 0
    mantissa, shift = np.frexp(real)
    m = int(np.floor(mantissa * 2**31 + 0.5))
    if m == 2**31:
        m, shift = m // 2, shift + 1
    return m, int(shift)


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: int) -> np.ndarray:
    """Return round(a * b / 2**31) (ties away from zero), saturating a == b == -2**31; int64."""
    a = np.asarray(a, dtype=np.int64)
    return (a * np.int64(b) + (1 << 30)) >> 31


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """Return round(x / 2**exponent) with ties away from zero, exponent >= 0; int64."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    return (x + ((np.int64(1) << exponent) >> 1)) >> exponent


def integer_fc(x_q, x_zero_point, w_q, bias_q, multipliers, shifts, y_zero_point,
               act_min=-128, act_max=127) -> np.ndarray:
    """Run an int8 FC layer: int32 accumulate, requantize per output (double rounding), clamp."""
    acc = (np.asarray(x_q, np.int64) - x_zero_point) @ np.asarray(w_q, np.int64).T
    acc = acc + np.asarray(bias_q, np.int64)
    m = np.asarray(multipliers, np.int64)
    total = 31 - np.asarray(shifts, np.int64)
    out = (acc * m + (np.int64(1) << (total - 1))) >> total
    return np.clip(out + y_zero_point, act_min, act_max).astype(np.int8)
''',
}
