"""Plausible wrong answers for lesson 04: each must lose all the points of its exercise.

Most are the instructor's answer with one slip, written as ``_slip(ANSWER, old, new)``.
"""


_COST = '''
FORMATS = ("float32", "int8 reference", "int8 cmsis-nn")
PREDICTED_COST = {{"flash": {flash}, "ram": {ram}, "instructions": {instructions}}}
'''
_FP32, _REF, _CMSIS = '"float32"', '"int8 reference"', '"int8 cmsis-nn"'


def _cost(flash=(_REF, _FP32, _CMSIS), ram=(_CMSIS, _REF, _FP32),
          instructions=(_CMSIS, _FP32, _REF)) -> str:
    return _COST.format(**{k: "[" + ", ".join(v) + "]" for k, v in
                           {"flash": flash, "ram": ram, "instructions": instructions}.items()})


def _slip(answer: str, *pairs: str) -> str:
    """Return ``answer`` with each (old, new) pair replaced once; old must occur."""
    for old, new in zip(pairs[::2], pairs[1::2], strict=True):
        if old not in answer:
            raise ValueError(f"{old!r} is not in the answer")
        answer = answer.replace(old, new, 1)
    return answer


SEED_MATRIX = '''
def quantize_uint8(W: np.ndarray, scale: float) -> np.ndarray:
    """Return round_half_away(W / scale) clamped to 0..255, as uint8."""
    q = np.sign(W / scale) * np.floor(np.abs(W / scale) + 0.5)
    return np.clip(q, 0, 255).astype(np.uint8)


def inconsistent_entries(W: np.ndarray, W_q: np.ndarray, scale: float) -> list[tuple[int, int]]:
    """Return the (row, col) pairs where |W - scale * W_q| > scale / 2 (1e-9 relative slack)."""
    error = np.abs(W - scale * W_q.astype(np.float64))
    return [(int(i), int(j)) for i, j in np.argwhere(error > scale / 2 * (1 + 1e-9))]
'''

CHOOSE_QPARAMS = '''
def choose_qparams(xmin: float, xmax: float, bits: int = 8, signed: bool = True) -> tuple[float, int]:
    """Return (scale, zero_point) for [xmin, xmax] widened to contain 0, asymmetric."""
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    xmin, xmax = min(xmin, 0.0), max(xmax, 0.0)
    scale = (xmax - xmin) / (qmax - qmin)
    zero_point = qmin - xmin / scale
    zero_point = int(np.sign(zero_point) * np.floor(np.abs(zero_point) + 0.5))
    return float(scale), int(min(max(zero_point, qmin), qmax))
'''

QUANTIZE = '''
def quantize(x: np.ndarray, scale, zero_point, qmin: int = -128, qmax: int = 127) -> np.ndarray:
    """Return clamp(round_half_away(x / scale) + zero_point, qmin, qmax) as int64."""
    r = np.asarray(x, dtype=np.float64) / scale
    q = np.sign(r) * np.floor(np.abs(r) + 0.5) + zero_point
    return np.clip(q, qmin, qmax).astype(np.int64)


def dequantize(q: np.ndarray, scale, zero_point) -> np.ndarray:
    """Return scale * (q - zero_point) as float64."""
    return scale * (np.asarray(q, dtype=np.float64) - zero_point)
'''

PER_CHANNEL = '''
def per_channel_scales(w: np.ndarray, bits: int = 8) -> np.ndarray:
    """Return max|w| / qmax for each output channel (axis 0), symmetric."""
    largest = np.abs(w).reshape(w.shape[0], -1).max(axis=1)
    return largest / (2 ** (bits - 1) - 1)
'''

FAKE_QUANT = '''
class FakeQuantSTE(torch.autograd.Function):
    """Quantize-dequantize forward; straight-through gradient inside the range, 0 outside."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        r = x / scale
        q = torch.sign(r) * torch.floor(torch.abs(r) + 0.5) + zero_point
        ctx.save_for_backward((q >= qmin) & (q <= qmax))
        return (torch.clamp(q, qmin, qmax) - zero_point) * scale

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None, None, None


def fake_quant(x, scale, zero_point, bits=8):
    """Apply FakeQuantSTE with the signed range of ``bits``."""
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    scale = torch.as_tensor(scale, dtype=x.dtype)
    return FakeQuantSTE.apply(x, scale, torch.as_tensor(zero_point, dtype=x.dtype), qmin, qmax)
'''

INTEGER_FC = '''
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
    """Return round(a * b / 2**31) as gemmlowp rounds, saturating a == b == -2**31; int64."""
    a = np.asarray(a, dtype=np.int64)
    ab = a * np.int64(b)
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    n = ab + nudge
    high = np.sign(n) * (np.abs(n) >> 31)
    return np.where((a == -(2**31)) & (b == -(2**31)), 2**31 - 1, high)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """Return round(x / 2**exponent) with ties away from zero, exponent >= 0; int64."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def integer_fc(x_q, x_zero_point, w_q, bias_q, multipliers, shifts, y_zero_point,
               act_min=-128, act_max=127) -> np.ndarray:
    """Run an int8 FC layer: int32 accumulate, requantize per output (double rounding), clamp."""
    acc = (np.asarray(x_q, np.int64) - x_zero_point) @ np.asarray(w_q, np.int64).T
    acc = acc + np.asarray(bias_q, np.int64)
    out = np.empty_like(acc)
    for c in range(acc.shape[1]):
        left, right = max(int(shifts[c]), 0), max(-int(shifts[c]), 0)
        high = saturating_rounding_doubling_high_mul(acc[:, c] * (1 << left), int(multipliers[c]))
        out[:, c] = rounding_divide_by_pot(high, right)
    return np.clip(out + y_zero_point, act_min, act_max).astype(np.int8)
'''

WRONG = {
    "seed_matrix": [
        # np.round rounds ties (2.5, 229.5 ...) to even
        _slip(SEED_MATRIX, "q = np.sign(W / scale) * np.floor(np.abs(W / scale) + 0.5)",
              "q = np.round(W / scale)"),
        # cast to uint8 before clamping: -60 wraps to 196, 300 to 44
        _slip(SEED_MATRIX, "return np.clip(q, 0, 255).astype(np.uint8)",
              "return q.astype(np.uint8)"),
        # int8 is not uint8: 0..255 does not fit (and 255 wraps to -1)
        _slip(SEED_MATRIX, "return np.clip(q, 0, 255).astype(np.uint8)",
              "return np.clip(q, 0, 255).astype(np.int8)"),
        # the slack taken on the wrong side: a tie (|E| = s/2) is reported
        _slip(SEED_MATRIX, "error > scale / 2 * (1 + 1e-9)", "error * (1 + 1e-9) > scale / 2"),
        # an absolute slack instead of a relative one
        _slip(SEED_MATRIX, "error > scale / 2 * (1 + 1e-9)", "error > scale / 2 + 1e-9"),
        # 1-based positions, like the slide's "row 1, column 3"
        _slip(SEED_MATRIX, "[(int(i), int(j))", "[(int(i) + 1, int(j) + 1)"),
    ],
    "choose_qparams": [
        # the range is not widened to contain 0: the zero point leaves the integer range
        _slip(CHOOSE_QPARAMS, "    xmin, xmax = min(xmin, 0.0), max(xmax, 0.0)\n", ""),
        # Python's round: half to even, not TFLite's half away from zero
        _slip(CHOOSE_QPARAMS,
              "zero_point = int(np.sign(zero_point) * np.floor(np.abs(zero_point) + 0.5))",
              "zero_point = int(round(zero_point))"),
        # the symmetric range -127..127 for signed integers
        _slip(CHOOSE_QPARAMS, "(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed",
              "(-(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1) if signed"),
        # 2**bits levels taken as the number of steps
        _slip(CHOOSE_QPARAMS, "scale = (xmax - xmin) / (qmax - qmin)",
              "scale = (xmax - xmin) / 2**bits"),
        # the sign of xmin / s flipped in the zero point
        _slip(CHOOSE_QPARAMS, "zero_point = qmin - xmin / scale", "zero_point = qmin + xmin / scale"),
        # the zero point returned as a float
        _slip(CHOOSE_QPARAMS, "return float(scale), int(min(max(zero_point, qmin), qmax))",
              "return float(scale), float(min(max(zero_point, qmin), qmax))"),
    ],
    "quantize_dequantize": [
        # half to even, and no saturation (wraps like a C cast)
        _slip(QUANTIZE, "q = np.sign(r) * np.floor(np.abs(r) + 0.5) + zero_point",
              "q = np.round(r) + zero_point",
              "return np.clip(q, qmin, qmax).astype(np.int64)",
              "return ((q - qmin) % (qmax - qmin + 1) + qmin).astype(np.int64)"),
        # the zero point added before rounding
        _slip(QUANTIZE, "q = np.sign(r) * np.floor(np.abs(r) + 0.5) + zero_point",
              "r = r + zero_point\n    q = np.sign(r) * np.floor(np.abs(r) + 0.5)"),
        # int8 results: a 0..255 range wraps above 127
        _slip(QUANTIZE, "return np.clip(q, qmin, qmax).astype(np.int64)",
              "return np.clip(q, qmin, qmax).astype(np.int8)"),
        # dequantize in q's own integer type: int8 - 10 wraps
        _slip(QUANTIZE, "return scale * (np.asarray(q, dtype=np.float64) - zero_point)",
              "return scale * (np.asarray(q) - zero_point)"),
        # divides the caller's array in place
        _slip(QUANTIZE, "r = np.asarray(x, dtype=np.float64) / scale",
              "r = np.asarray(x, dtype=np.float64)\n    r /= scale"),
        # the rounding is np.round, everything else right
        _slip(QUANTIZE, "q = np.sign(r) * np.floor(np.abs(r) + 0.5) + zero_point",
              "q = np.round(r) + zero_point"),
    ],
    "per_channel": [
        # reduces over the wrong axis (input channels)
        '''
def per_channel_scales(w: np.ndarray, bits: int = 8) -> np.ndarray:
    """Return max|w| / qmax for each output channel (axis 0), symmetric."""
    qmax = 2 ** (bits - 1) - 1
    axes = tuple(d for d in range(w.ndim) if d != 1)
    return np.abs(w).max(axis=axes) / qmax
''',
        # the largest value, not the largest magnitude
        _slip(PER_CHANNEL, "np.abs(w).reshape", "np.asarray(w).reshape"),
        # qmax = 2**(bits-1): 128 at 8 bits
        _slip(PER_CHANNEL, "(2 ** (bits - 1) - 1)", "2 ** (bits - 1)"),
        # the unsigned qmax 2**bits - 1
        _slip(PER_CHANNEL, "(2 ** (bits - 1) - 1)", "(2**bits - 1)"),
        # conv weights only: the axes (1, 2, 3) hard-coded
        _slip(PER_CHANNEL, "np.abs(w).reshape(w.shape[0], -1).max(axis=1)",
              "np.abs(w).max(axis=(1, 2, 3))"),
        # one per-tensor scale, repeated per channel
        _slip(PER_CHANNEL, "np.abs(w).reshape(w.shape[0], -1).max(axis=1)",
              "np.full(w.shape[0], np.abs(w).max())"),
    ],
    "fake_quant_ste": [
        # a plain identity STE: clamped values still get gradient 1
        _slip(FAKE_QUANT, "return grad * inside, None", "return grad, None"),
        # torch.round rounds half to even
        _slip(FAKE_QUANT, "q = torch.sign(r) * torch.floor(torch.abs(r) + 0.5) + zero_point",
              "q = torch.round(r) + zero_point"),
        # the clamp decided on the unrounded value
        _slip(FAKE_QUANT, "ctx.save_for_backward((q >= qmin) & (q <= qmax))",
              "ctx.save_for_backward((r + zero_point >= qmin) & (r + zero_point <= qmax))"),
        # the clamp decided without the zero point
        _slip(FAKE_QUANT, "ctx.save_for_backward((q >= qmin) & (q <= qmax))",
              "ctx.save_for_backward((q - zero_point >= qmin) & (q - zero_point <= qmax))"),
        # qmin and qmax themselves counted as clamped
        _slip(FAKE_QUANT, "(q >= qmin) & (q <= qmax)", "(q > qmin) & (q < qmax)"),
        # the incoming gradient ignored: 1 inside, 0 outside
        _slip(FAKE_QUANT, "return grad * inside, None", "return inside.to(grad.dtype), None"),
        # fake_quant with the unsigned range of bits
        _slip(FAKE_QUANT, "qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1",
              "qmin, qmax = 0, 2**bits - 1"),
    ],
    "integer_fc": [
        # rounds once (the exact product), like a float multiply: differs from TFLM by 1 LSB
        '''
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
    """Return round(a * b / 2**31) as gemmlowp rounds, saturating a == b == -2**31; int64."""
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
        # a positive shift (a multiplier above 1) is never applied
        _slip(INTEGER_FC, "left, right = max(int(shifts[c]), 0), max(-int(shifts[c]), 0)",
              "left, right = 0, max(-int(shifts[c]), 0)"),
        # the bias dropped
        _slip(INTEGER_FC, "    acc = acc + np.asarray(bias_q, np.int64)\n", ""),
        # the input's zero point subtracted in int8: x - (-128) wraps
        _slip(INTEGER_FC,
              "acc = (np.asarray(x_q, np.int64) - x_zero_point) @ np.asarray(w_q, np.int64).T",
              "acc = ((np.asarray(x_q) - x_zero_point) @ np.asarray(w_q).T).astype(np.int64)"),
        # numpy's // floors where C truncates toward zero
        _slip(INTEGER_FC, "high = np.sign(n) * (np.abs(n) >> 31)", "high = n // 2**31"),
        # a rounding right shift with ties towards +infinity (negative ties go the wrong way)
        _slip(INTEGER_FC, "threshold = (mask >> 1) + (x < 0)", "threshold = mask >> 1"),
        # Python's round for the mantissa: half to even
        _slip(INTEGER_FC, "m = int(np.floor(mantissa * 2**31 + 0.5))",
              "m = int(round(mantissa * 2**31))"),
        # the overflowing product -2**31 * -2**31 is not saturated
        _slip(INTEGER_FC, "return np.where((a == -(2**31)) & (b == -(2**31)), 2**31 - 1, high)",
              "return high"),
    ],
    "PREDICTED_COST": [
        # "int8 is always faster than float": the reference kernels ranked ahead of the FPU
        _cost(instructions=(_CMSIS, _REF, _FP32)),
        # "a hardware FPU beats integer SIMD": float32 ranked fastest
        _cost(instructions=(_FP32, _CMSIS, _REF)),
        # float32 ranked the smallest image: the 4-byte weights forgotten
        _cost(flash=(_FP32, _REF, _CMSIS)),
        # the int8 arena ranked the largest, as if it held int32 accumulators
        _cost(ram=(_FP32, _CMSIS, _REF)),
    ],
}
