"""Hidden tests of lesson 04_quantization (instructor only; see README.md)."""

import math

import numpy as np
import torch

_Q = "edgecourse.lab.arithmetic:"
FORBIDDEN = {
    # Q.round_half_away stays allowed: the lesson shows it next to np.round before exercise 1.
    "seed_matrix": (_Q + "quantize", _Q + "choose_qparams"),
    "choose_qparams": (_Q + "choose_qparams",),
    "quantize_dequantize": (_Q + "quantize", _Q + "dequantize"),
    "per_channel": (_Q + "choose_qparams",),
    "fake_quant_ste": ("edgecourse.lab.quantization:fake_quantize",
                       "edgecourse.lab.quantization:FakeQuantSTE.forward",
                       "edgecourse.lab.quantization:FakeQuantSTE.backward",
                       _Q + "quantize", _Q + "dequantize"),
    "integer_fc": tuple(_Q + name for name in (
        "quantize_multiplier", "saturating_rounding_doubling_high_mul", "rounding_divide_by_pot",
        "multiply_by_quantized_multiplier", "multiply_by_quantized_multiplier_single_rounding",
        "conv_multipliers")) + ("edgecourse.deploy.runtimes:_requantize",
                                "edgecourse.deploy.runtimes:run_integer_reference"),
}
TOLERANCE = {
    "choose_qparams": {"rtol": 1e-9, "atol": 1e-15},
    "quantize_dequantize": {"rtol": 1e-9, "atol": 1e-12},
    "per_channel": {"rtol": 1e-6, "atol": 1e-12},
    # Forward values are multiples of a step >= 1/64 here: 1e-6 absolute tells any step apart
    # while allowing s*q - s*z for s*(q - z) in float32.
    "fake_quant_ste": {"rtol": 1e-6, "atol": 1e-6},
}

# The lecture's matrix and the slide's integers (uint8, scale 1/255).
W = np.array([[0.97, 0.64, 0.74, 1.00],
              [0.58, 0.84, 0.84, 0.81],
              [0.00, 0.18, 0.90, 0.28],
              [0.57, 0.96, 0.80, 0.81]])
W_SLIDE = np.array([[247, 163, 109, 255],
                    [148, 214, 214, 207],
                    [0, 46, 229, 71],
                    [145, 245, 204, 207]])


def _same(*arrays):
    """Return a function telling whether the arrays still hold their values."""
    before = [np.array(a, copy=True) for a in arrays]
    return lambda: all(np.array_equal(a, b) for a, b in zip(arrays, before, strict=True))


# ---- Exercise 1 --------------------------------------------------------------------------------

def probe_seed_matrix(ns, thorough):
    q8, bad = ns["quantize_uint8"], ns["inconsistent_entries"]
    rng = np.random.default_rng(1)

    def quant(w, scale):
        same = _same(w)
        q = q8(w, scale)
        return {"W_q": q, "dtype": str(q.dtype), "W unchanged": same()}

    def find(w, w_q, scale):
        same = _same(w, w_q)
        return {"entries": bad(w, w_q, scale), "inputs unchanged": same()}

    yield "the lecture's matrix at s = 1/255, as uint8", lambda: quant(W, 1 / 255)
    yield "ties go away from zero (np.round goes to even)", \
        lambda: quant(np.array([0.5, 1.5, 2.5, 3.5]), 1.0)
    yield "ties at a step of 0.5", lambda: quant(np.array([[0.25, 0.75], [1.25, 1.75]]), 0.5)
    yield "just below a tie rounds down", lambda: quant(np.array([0.4999, 2.4999, 7.49]), 1.0)
    yield "clamp to 0..255 (negative values become 0)", \
        lambda: quant(np.array([-0.3, 1.2, -60.0]), 1 / 200)
    yield "clamp values above 255", lambda: quant(np.array([300.0, 255.0, 255.5, 1e6]), 1.0)
    yield "a negative tie clamps to 0", lambda: quant(np.array([-0.5, -1.5, 0.0]), 1.0)
    yield "a random matrix in [0, 1]", lambda: quant(rng.uniform(0, 1, (5, 7)), 1 / 255)
    yield "a scale other than 1/255", lambda: quant(rng.uniform(-0.1, 2.2, (3, 4, 2)), 0.01)

    yield "the slide's matrix: one entry breaks the bound, as a 0-based (row, col)", \
        lambda: find(W, W_SLIDE, 1 / 255)
    yield "the slide's matrix given as uint8", lambda: find(W, W_SLIDE.astype(np.uint8), 1 / 255)
    correct = np.floor(W * 255 + 0.5).astype(np.uint8)
    yield "a correct quantization never breaks the bound", lambda: find(W, correct, 1 / 255)
    yield "an error of exactly s/2 (a tie) does not break the bound", \
        lambda: find(np.array([[0.9]]), np.array([[229]]), 1 / 255)
    yield "a tie rounded the other way does not break it either", \
        lambda: find(np.array([[0.9]]), np.array([[230]]), 1 / 255)
    yield "exact ties at a step of 1 are within the bound", \
        lambda: find(np.array([[0.5, 2.5], [-1.5, 7.0]]), np.array([[0, 3], [-1, 7]]), 1.0)
    yield "an error exactly at the edge of the slack is within the bound", \
        lambda: find(np.array([[0.5 * (1 + 1e-9)]]), np.array([[0]]), 1.0)
    yield "an off-by-one integer breaks the bound", \
        lambda: find(np.array([[0.74, 0.64]]), np.array([[188, 163]]), 1 / 255)
    yield "an error a hair over s/2 breaks the bound", \
        lambda: find(np.array([[0.5000001, 0.4999999]]), np.array([[0, 0]]), 1.0)
    yield "the slack is relative to s/2: large steps", \
        lambda: find(np.array([[500.0000002, 500.00000075, 500.000001, 499.0]]),
                     np.array([[0, 0, 0, 0]]), 1000.0)
    yield "the slack is relative to s/2: small steps", \
        lambda: find(np.array([[5.001e-7, 4.999e-7, 5.0e-7]]), np.array([[0, 0, 0]]), 1e-6)
    grid = rng.uniform(0, 1, (6, 5))
    grid_q = np.floor(grid * 255 + 0.5).astype(np.int64)
    grid_q[[0, 2, 2, 5], [4, 0, 3, 1]] += [3, -1, 2, -5]
    yield "several entries, listed row by row", lambda: find(grid, grid_q, 1 / 255)
    if thorough:
        for i in range(25):
            shape = tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 4))))
            scale = float(rng.choice([1 / 255, 0.5, 0.01, 1.0, 1 / 128]))
            w = np.round(rng.uniform(-20, 300, shape) * scale * 4) / 4
            yield f"random quantization {i}", lambda w=w, scale=scale: quant(w, scale)
            w2 = rng.uniform(0, 1, (4, 5))
            q2 = np.floor(w2 * 255 + 0.5).astype(np.int64) + rng.integers(-1, 2, (4, 5))
            yield f"random entries {i}", lambda w2=w2, q2=q2: find(w2, q2, 1 / 255)


# ---- Exercise 2 --------------------------------------------------------------------------------

def probe_choose_qparams(ns, thorough):
    f = ns["choose_qparams"]

    def call(*args):
        s, z = f(*args)
        return {"scale": s, "zero point": z,
                "zero point is an integer": isinstance(z, int | np.integer)}

    cases = [
        ("[0, 1] in uint8 is the lecture's s = 1/255, z = 0", (0.0, 1.0, 8, False)),
        ("[0, 1] in int8: the same scale, 0.0 sits at -128", (0.0, 1.0, 8, True)),
        ("[-1, 3] with the default bits and sign: z = qmin - round(xmin / s)", (-1.0, 3.0)),
        ("a range above 0 is first widened to contain 0", (0.5, 2.0, 8, True)),
        ("a range below 0 is first widened to contain 0", (-3.0, -1.0, 8, True)),
        ("4-bit unsigned (0..15)", (0.2, 0.9, 4, False)),
        ("4-bit signed (-8..7)", (-0.37, 1.91, 4, True)),
        ("a tiny negative part", (-1e-3, 5.0, 8, True)),
        ("16-bit signed", (-2.0, 6.0, 16, True)),
        ("2-bit unsigned", (-1.0, 2.0, 2, False)),
        ("uint8 with a negative part", (-1.0, 3.0, 8, False)),
        # Only unsigned ties: for a signed range, round(qmin - xmin / s) (the solution, TFLite's
        # ChooseQuantizationParams) and qmin - round(xmin / s) (the text) differ at a tie.
        ("xmin / s exactly halfway: round half away from zero, as TFLite", (-2.5, 252.5, 8, False)),
        ("4-bit unsigned, xmin / s exactly halfway", (-1.5, 13.5, 4, False)),
        ("4-bit signed, xmin / s a whole number", (-1.5, 6.0, 4, True)),
    ]
    if thorough:
        rng = np.random.default_rng(2)
        for i in range(40):
            lo, hi = sorted(rng.normal(0, 3, 2) + rng.choice([0, 2, -2]))
            cases.append((f"random {i}", (float(lo), float(hi), int(rng.integers(2, 17)),
                                          bool(rng.integers(0, 2)))))
    for name, args in cases:
        yield name, lambda args=args: call(*args)


# ---- Exercise 3 --------------------------------------------------------------------------------

def probe_quantize_dequantize(ns, thorough):
    quantize, dequantize = ns["quantize"], ns["dequantize"]
    rng = np.random.default_rng(3)
    s, z = 4 / 255, -64  # choose_qparams(-1.0, 3.0)

    def q(x, *args):
        same = _same(x)
        result = quantize(x, *args)
        return {"q": np.asarray(result), "x unchanged": same()}

    def dq(qs, *args):
        same = _same(qs)
        return {"x": np.asarray(dequantize(qs, *args)), "q unchanged": same()}

    x = np.linspace(-1.0, 3.0, 41)
    yield "quantize: the visible range [-1, 3] in int8", lambda: q(x, s, z)
    yield "quantize a scalar: 0.0 maps to the zero point", lambda: q(0.0, s, z)
    yield "quantize: round half away from zero, as TFLite does (not np.round)", \
        lambda: q(np.array([0.5, 1.5, 2.5, -2.5, -0.5, -1.5]), 1.0, 0)
    yield "quantize: saturate at -128..127, do not wrap", \
        lambda: q(np.array([-1e3, 1e3, 12.7, 12.8, -12.8, -12.9]), 0.1, 0)
    yield "quantize: respect qmin and qmax", lambda: q(np.array([1e3, -1e3, 0.45]), 0.1, 3, 0, 15)
    yield "quantize: add the zero point after rounding", \
        lambda: q(np.array([-1.25, 1.25, 0.25]), 0.5, 3)
    yield "quantize: a negative zero point after rounding", lambda: q(np.array([1.25, -0.75]),
                                                                       0.5, -3)
    yield "quantize into 0..255: values above 127 stay positive", \
        lambda: q(np.array([0.0, 100.0, 200.0, 255.0, 300.0, -4.0]), 1.0, 0, 0, 255)
    yield "quantize: per-channel scales and zero points broadcast", \
        lambda: q(rng.normal(0, 1, (3, 4)), np.array([[0.01], [0.02], [0.05]]),
                  np.array([[0], [-5], [7]]))
    yield "quantize returns int64 (see its docstring)", \
        lambda: str(quantize(np.array([0.3, -0.3]), 0.1, 0).dtype)
    yield "dequantize: subtract z, then scale", lambda: dq(np.array([-128, 0]), 0.5, -128)
    yield "dequantize inverts quantize on the visible range", \
        lambda: dq(np.array([-128, -64, 0, 63, 127]), s, z)
    yield "dequantize a scalar", lambda: dq(5, 0.1, 2)
    yield "dequantize int8 values without wrapping", \
        lambda: dq(np.array([-128, 127, 0], dtype=np.int8), 0.5, 10)
    yield "dequantize uint8 values without wrapping", \
        lambda: dq(np.array([0, 3, 255], dtype=np.uint8), 0.25, 7)
    yield "dequantize per channel", \
        lambda: dq(np.array([[-3, 4], [100, -100]]), np.array([[0.5], [0.01]]),
                   np.array([[1], [-2]]))
    yield "dequantize returns float64 (see its docstring)", \
        lambda: str(np.asarray(dequantize(np.array([1, 2], dtype=np.int8), 0.5, 0)).dtype)
    if thorough:
        for i in range(25):
            qmin, qmax = [(-128, 127), (0, 255), (-8, 7), (0, 15)][i % 4]
            scale = float(rng.choice([0.5, 0.25, 0.1, 0.037, 1.0]))
            zp = int(rng.integers(qmin, qmax + 1))
            xs = np.round(rng.normal(0, 3 * (qmax - qmin) * scale / 8, 30) / scale * 2) / 2 * scale
            yield f"random quantize {i}", lambda xs=xs, a=(scale, zp, qmin, qmax): q(xs, *a)
            qs = rng.integers(qmin, qmax + 1, 20)
            yield f"random dequantize {i}", lambda qs=qs, a=(scale, zp): dq(qs, *a)


# ---- Exercise 4 --------------------------------------------------------------------------------

def probe_per_channel(ns, thorough):
    f = ns["per_channel_scales"]
    rng = np.random.default_rng(4)

    def call(w, *bits):
        same = _same(w)
        return {"scales": f(w, *bits), "w unchanged": same()}

    w = np.zeros((3, 3, 2, 2))
    w[0], w[1], w[2] = 0.5, -2.0, 1.0
    w[0, 1, 0, 0] = -1.27
    conv = rng.normal(0, 0.3, (8, 4, 3, 3)).astype(np.float32)
    fc = rng.normal(0, 0.1, (10, 32))
    yield "a conv weight (out, in, 3, 3) at 8 bits: one scale per output channel", \
        lambda: call(conv)
    yield "use the largest magnitude, negatives included", lambda: call(w)
    yield "4 bits: qmax = 2**(bits-1) - 1", lambda: call(w, 4)
    yield "a fully connected weight (out, in)", lambda: call(fc)
    yield "a fully connected weight at 4 bits", lambda: call(fc, 4)
    yield "a 3-D weight: reduce over every axis but the first", \
        lambda: call(rng.normal(0, 1, (5, 2, 7)))
    yield "2 bits", lambda: call(conv, 2)
    yield "16 bits", lambda: call(fc, 16)
    yield "one output channel", lambda: call(rng.normal(0, 1, (1, 6)))
    if thorough:
        for i in range(25):
            shape = tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(2, 5))))
            args = (rng.normal(0, 1, shape), int(rng.integers(2, 9)))
            yield f"random {i}", lambda args=args: call(*args)


# ---- Exercise 5 --------------------------------------------------------------------------------

def _ste(function, values, scale, zero_point, qmin, qmax, upstream=None, dtype=torch.float64):
    x = torch.tensor(values, dtype=dtype, requires_grad=True)
    y = function.apply(x, torch.as_tensor(scale, dtype=dtype),
                       torch.as_tensor(zero_point, dtype=dtype), qmin, qmax)
    y.backward(torch.ones_like(y) if upstream is None else
               torch.as_tensor(upstream, dtype=dtype))
    return {"forward": y.detach(), "dtype": str(y.dtype), "gradient": x.grad}


def _helper(fake_quant, values, scale, zero_point, bits=None, dtype=torch.float32):
    x = torch.tensor(values, dtype=dtype, requires_grad=True)
    y = fake_quant(x, scale, zero_point) if bits is None else fake_quant(x, scale, zero_point,
                                                                         bits)
    y.backward(torch.arange(1.0, y.numel() + 1, dtype=dtype).reshape(y.shape))
    return {"forward": y.detach(), "dtype": str(y.dtype), "gradient": x.grad}


def probe_fake_quant_ste(ns, thorough):
    ste, fq = ns["FakeQuantSTE"], ns["fake_quant"]
    rng = np.random.default_rng(5)
    visible = [-2.0, -0.42, 0.0, 0.33, 0.61, 2.0]
    yield "the visible example: int4 at s = 0.1 (forward and straight-through gradient)", \
        lambda: _ste(ste, visible, 0.1, 0, -8, 7)
    yield "the incoming gradient is passed on, times 1 inside the range and 0 outside", \
        lambda: _ste(ste, visible, 0.1, 0, -8, 7, upstream=[0.5, -2.0, 3.0, 0.25, -1.5, 4.0])
    yield "round half away from zero, like TFLite", \
        lambda: _ste(ste, [1.25, -1.25, 0.75, -0.75, 0.25, -0.25], 0.5, 0, -128, 127)
    yield "shift by the zero point, then back", \
        lambda: _ste(ste, [0.0, 0.26, 1.0, -0.5], 0.02, -100, -128, 127)
    yield "clamping is decided with the zero point included", \
        lambda: _ste(ste, [-3.0, 5.0, -0.56, 4.5], 0.02, -100, -128, 127)
    yield "the range's boundaries, with a zero point: the rounded value decides, qmin and qmax "\
        "included", lambda: _ste(ste, [-7.25, -7.125, -7.12, -7.0, 56.75, 56.87, 56.875, 57.0],
                                 0.25, -100, -128, 127, upstream=[1, 2, 3, 4, 5, 6, 7, 8])
    yield "the range's boundaries without a zero point", \
        lambda: _ste(ste, [63.5, 63.74, 63.75, -64.0, -64.24, -64.25], 0.5, 0, -128, 127,
                     upstream=[1, 2, 3, 4, 5, 6])
    yield "an unsigned range (0..255) with a zero point", \
        lambda: _ste(ste, [-1.0, -0.25, 0.0, 10.0, 61.25, 61.5, 70.0], 0.25, 10, 0, 255,
                     upstream=[1, 2, 3, 4, 5, 6, 7])
    yield "float32 stays float32", \
        lambda: _ste(ste, [-1.0, 0.37, 0.625, 3.0], 0.125, 2, -8, 7, dtype=torch.float32)
    weights = rng.normal(0, 0.5, (3, 4))
    scales = np.abs(weights).max(axis=1, keepdims=True) / 127
    yield "per-channel scales (a tensor) broadcast over the weights", \
        lambda: _ste(ste, weights.tolist(), scales, 0, -127, 127,
                     upstream=rng.normal(size=(3, 4)).tolist())
    yield "fake_quant: int4 at s = 0.1", lambda: _helper(fq, visible, 0.1, 0, 4)
    yield "fake_quant: int8 by default, with a zero point", \
        lambda: _helper(fq, [0.0, 0.26, 1.0, -3.0, 5.0, 1.25], 0.02, -100)
    yield "fake_quant: 2 bits (-2..1)", lambda: _helper(fq, [-0.5, -0.25, 0.0, 0.24, 0.26, 0.4],
                                                       0.25, 0, 2)
    if thorough:
        for i in range(25):
            bits = int(rng.integers(2, 9))
            qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
            scale = float(rng.choice([0.5, 0.25, 0.125, 0.1, 0.03]))
            zp = int(rng.integers(qmin, qmax + 1))
            x = (np.round(rng.normal(0, (qmax - qmin) * scale, 20) / scale * 4) / 4 * scale)
            up = rng.normal(size=20)
            a, values = (scale, zp, qmin, qmax, up.tolist()), x.tolist()
            yield f"random {i}", lambda a=a, v=values: _ste(ste, v, *a[:4], upstream=a[4])
            yield f"random helper {i}", lambda a=(scale, zp, bits), v=values: _helper(fq, v, *a)


# ---- Exercise 6 --------------------------------------------------------------------------------

def _qm(real):
    """(m, shift) for a multiplier (instructor-side input generation, not the exercise)."""
    mantissa, shift = math.frexp(real)
    m = int(math.floor(mantissa * 2**31 + 0.5))
    return (m // 2, shift + 1) if m == 2**31 else (m, shift)


def _layer(rng, batch, n_in, n_out, gain=60.0, relu=False, as_lists=True, left=False):
    """A realistic int8 FC layer: int8 inputs and weights, int32 bias, per-channel rescale."""
    x_zp = int(rng.integers(-128, 20))
    x_q = rng.integers(-128, 128, (batch, n_in)).astype(np.int8)
    w_q = rng.integers(-127, 128, (n_out, n_in)).astype(np.int8)
    bias = rng.integers(-3000, 3000, n_out).astype(np.int32)
    acc = (x_q.astype(np.int64) - x_zp) @ w_q.astype(np.int64).T + bias
    spread = np.maximum(acc.std(axis=0), 1.0)
    reals = gain / spread * rng.uniform(0.7, 1.3, n_out)
    if left:  # small accumulators and multipliers above 1: positive shifts
        x_q = rng.integers(-3, 4, (batch, n_in)).astype(np.int8)
        w_q = rng.integers(-3, 4, (n_out, n_in)).astype(np.int8)
        bias = rng.integers(-5, 6, n_out).astype(np.int32)
        x_zp = 0
        reals = rng.uniform(0.6, 7.5, n_out)
    pairs = [_qm(float(r)) for r in reals]
    m, s = [p[0] for p in pairs], [p[1] for p in pairs]
    if not as_lists:
        m, s = np.array(m, dtype=np.int64), np.array(s, dtype=np.int64)
    y_zp = int(rng.integers(-20, 20))
    act = (y_zp, 127) if relu else (-128, 127)
    return (x_q, x_zp, w_q, bias, m, s, y_zp, *act)


def probe_integer_fc(ns, thorough):
    qm, high_mul = ns["quantize_multiplier"], ns["saturating_rounding_doubling_high_mul"]
    divide, fc = ns["rounding_divide_by_pot"], ns["integer_fc"]
    rng = np.random.default_rng(6)

    for name, real in [("0.0037: m in [2**30, 2**31) and m * 2**(shift - 31) = real", 0.0037),
                       ("0.5 = 2**30 * 2**(0 - 31)", 0.5),
                       ("a mantissa that rounds up to 1.0 renormalizes", 1 - 2**-40),
                       ("0.3127: frexp, then round to Q31", 0.3127),
                       ("a mantissa exactly halfway between two Q31 values rounds away from 0",
                        0.5 + 2**-32),
                       ("a multiplier of 1: shift 1", 1.0),
                       ("a multiplier above 1 has a positive shift", 1.5),
                       ("a multiplier of 5.3", 5.3),
                       ("a tiny multiplier", 1.37 * 2**-20),
                       ("a typical layer's multiplier", 0.000731)]:
        yield f"quantize_multiplier: {name}", lambda real=real: qm(real)

    ties = np.array([1, -1, 3, -3, 5, -5], dtype=np.int64)
    yield "high_mul: round(a * b / 2**31) as gemmlowp rounds its ties", \
        lambda: high_mul(ties, 2**30)
    yield "high_mul: the extremes of int32", \
        lambda: high_mul(np.array([5, -5, 3, -3, 2**31 - 1, -(2**31)], dtype=np.int64), 2**30)
    yield "high_mul: saturate the one overflowing product", \
        lambda: high_mul(np.array([-(2**31), 2**31 - 1]), -(2**31))
    a32 = np.array([2**31 - 1, -(2**31), 123456789, -987654321, 40000, -1], dtype=np.int32)
    yield "high_mul: int32 inputs need int64 products", lambda: high_mul(a32, 1824050278)
    yield "high_mul: a negative multiplier", lambda: high_mul(a32.astype(np.int64), -1500000000)
    big = rng.integers(-(2**31), 2**31, 40)
    yield "high_mul: random accumulators", lambda: high_mul(big, 1395864371)

    x = np.array([-3, 3, -5, 5, -6, 6, 7], dtype=np.int64)
    yield "divide_by_pot: ties away from zero", lambda: divide(x, 1)
    yield "divide_by_pot: exponent 0 changes nothing", lambda: divide(x, 0)
    yield "divide_by_pot: quarter ties", lambda: divide(np.array([-6, -2, 2, 6, -7, 7, -5, 5]), 2)
    yield "divide_by_pot: large exponents", lambda: divide(big, 20)
    yield "divide_by_pot: one exponent per element", \
        lambda: divide(np.array([1000, -1000, 77, -77, 12345]), np.array([3, 3, 1, 2, 7]))
    yield "divide_by_pot: int32 input", lambda: divide(a32, 5)

    def layer(args):
        same = _same(args[0], args[2], args[3])
        y = fc(*args)
        return {"y": y, "dtype": str(np.asarray(y).dtype), "inputs unchanged": same()}

    yield "integer_fc: saturate to int8", lambda: layer(
        (np.full((1, 2), 127), -128, np.full((1, 2), 127), np.zeros(1), [2**30], [0], 0))
    yield "integer_fc: requantize with two roundings, as TFLM", lambda: layer(
        (np.array([[5952]]), 0, np.array([[1]]), np.zeros(1), [1824050278], [-7], -128, -128,
         127))
    cases = [
        ("integer_fc: an int8 layer (int8 inputs minus their zero point need more than 8 bits)",
         _layer(rng, 6, 16, 8)),
        ("integer_fc: one image", _layer(rng, 1, 20, 5)),
        ("integer_fc: a fused ReLU clamps at the output zero point", _layer(rng, 5, 12, 6,
                                                                         relu=True)),
        ("integer_fc: multipliers above 1 shift left", _layer(rng, 4, 6, 5, left=True)),
        ("integer_fc: multipliers and shifts as numpy arrays", _layer(rng, 3, 10, 4,
                                                                      as_lists=False)),
        ("integer_fc: a wide layer, outputs near saturation", _layer(rng, 8, 64, 10, gain=90.0)),
    ]
    extra = []
    if thorough:
        for i in range(20):
            cases.append((f"random layer {i}", _layer(
                rng, int(rng.integers(1, 9)), int(rng.integers(1, 40)), int(rng.integers(1, 12)),
                gain=float(rng.uniform(5, 120)), relu=bool(i % 2), as_lists=bool(i % 3),
                left=i % 4 == 3)))
            real, a, b = float(rng.uniform(1e-6, 8)), rng.integers(-(2**31), 2**31, 30), \
                int(rng.integers(2**30, 2**31))
            c, e = rng.integers(-(2**31), 2**31, 30), int(rng.integers(0, 32))
            extra += [(f"random quantize_multiplier {i}", lambda r=real: qm(r)),
                      (f"random high_mul {i}", lambda a=a, b=b: high_mul(a, b)),
                      (f"random divide_by_pot {i}", lambda c=c, e=e: divide(c, e))]
    for name, args in cases:
        yield name, lambda args=args: layer(args)
    yield from extra


# ---- 8. PREDICTED_COST --------------------------------------------------------------------------

def probe_PREDICTED_COST(ns, thorough):
    ranking = ns["PREDICTED_COST"]
    yield ("rank flash, ram and instructions, each a list of the three formats once",
           lambda: {"keys": sorted(map(str, ranking)),
                    "formats": {str(k): sorted(map(str, ranking[k])) for k in sorted(map(str, ranking))}})
    yield "flash, same kernels: 4-byte or 1-byte weights, float or int8 kernel code?", \
        lambda: [str(v) for v in ranking["flash"] if str(v) != "int8 cmsis-nn"]
    yield "RAM: how many bytes does one activation take in the arena?", \
        lambda: str(list(ranking["ram"])[-1])
    yield "instructions: what does one multiply-accumulate cost with an FPU, in portable int8, with SIMD?", \
        lambda: [str(v) for v in ranking["instructions"]]
