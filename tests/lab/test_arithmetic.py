"""Does edgecourse.lab.arithmetic compute what TFLite's int8 arithmetic computes?"""

import numpy as np
import pytest
import torch

from edgecourse.lab import arithmetic as Q
from edgecourse.lab.quantization import fake_quantize

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def test_round_half_away_breaks_ties_away_from_zero():
    """Does rounding send .5 away from zero, where np.round goes to even?"""
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 229.5, 0.49, -1.51])
    assert Q.round_half_away(x).tolist() == [1, 2, 3, -1, -3, 230, 0, -2]
    assert np.round(2.5) == 2  # the trap the lesson warns about
    # The largest values below 0.5: floor(x + 0.5) would round them up (the sum is inexact).
    for dtype in (np.float32, np.float64):
        below = np.nextafter(dtype(0.5), dtype(0))
        assert Q.round_half_away(np.array([below, -below], dtype)).tolist() == [0, 0]


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("bits", [4, 8])
def test_zero_is_exactly_representable(bits, signed):
    """Does every chosen (scale, zero_point) map 0.0 to an integer and back to exactly 0.0?"""
    rng = np.random.default_rng(0)
    qmin, qmax = Q.qrange(bits, signed)
    dtype = np.int32 if signed else np.uint32
    for _ in range(200):
        lo, hi = np.sort(rng.normal(size=2) * rng.uniform(0.01, 10))
        scale, zp = Q.choose_qparams(lo, hi, bits, signed)
        assert qmin <= zp <= qmax and scale > 0
        q = Q.quantize(np.float64(0.0), scale, zp, dtype, bits=bits)
        assert Q.dequantize(q, scale, zp) == 0.0
        # inside the grid at most half a step of error; the rounded zero point costs the ends
        # at most another half step
        x = np.linspace(min(lo, 0), max(hi, 0), 101)
        err = np.abs(x - Q.dequantize(Q.quantize(x, scale, zp, dtype, bits=bits), scale, zp))
        inside = (x >= scale * (qmin - zp)) & (x <= scale * (qmax - zp))
        assert err[inside].max() <= scale / 2 * (1 + 1e-5) + 1e-6
        assert err.max() <= scale * (1 + 1e-5) + 1e-6


def test_seed_matrix_uint8():
    """Does round(255 W) give the slide's matrix except the two known entries?"""
    W = np.array([[0.97, 0.64, 0.74, 1.00], [0.58, 0.84, 0.84, 0.81],
                  [0.00, 0.18, 0.90, 0.28], [0.57, 0.96, 0.80, 0.81]])
    q = Q.quantize(W, 1 / 255, 0, np.uint8)
    slide = np.array([[247, 163, 109, 255], [148, 214, 214, 207],
                      [0, 46, 229, 71], [145, 245, 204, 207]])
    assert sorted(map(tuple, np.argwhere(q != slide))) == [(0, 2), (2, 2)]
    assert q[0, 2] == 189 and q[2, 2] == 230


def test_symmetric_and_per_channel():
    """Is symmetric zero point 0 with range -127..127, and a small channel finer per channel?"""
    scale, zp = Q.choose_qparams(-0.5, 2.0, symmetric=True)
    assert zp == 0 and np.isclose(scale, 2.0 / 127)
    w = np.stack([np.full((3, 3), 0.1), np.full((3, 3), 10.0)])  # channel 0 small, 1 large
    # choose_qparams works elementwise: per-channel ranges give per-channel parameters.
    s0, z0 = Q.choose_qparams(w.min(axis=(1, 2)), w.max(axis=(1, 2)), symmetric=True)
    assert np.allclose(s0, [0.1 / 127, 10.0 / 127]) and not z0.any()
    scale, zp = Q.choose_qparams(w.min(), w.max(), symmetric=True)
    err_tensor = np.abs(w - Q.dequantize(Q.quantize(w, scale, zp), scale, zp)).max(axis=(1, 2))
    q = Q.quantize(w, s0, z0, axis=0)
    err_channel = np.abs(w - Q.dequantize(q, s0, z0, axis=0)).max(axis=(1, 2))
    assert err_channel[0] < err_tensor[0]


def test_quantize_clamps_and_rejects_bad_parameters():
    """Does quantize saturate out-of-range values and refuse impossible parameters?"""
    assert Q.quantize(np.array([-1000.0, 1000.0]), 0.1, 0).tolist() == [-128, 127]
    with pytest.raises(ValueError, match="zero_point"):
        Q.quantize(np.array([1.0]), 0.1, 300)
    with pytest.raises(ValueError, match="scale"):
        Q.quantize(np.array([1.0]), 0.0, 0)
    with pytest.raises(ValueError, match="xmin"):
        Q.choose_qparams(1.0, -1.0)
    with pytest.raises(ValueError, match="signed"):
        Q.choose_qparams(-1.0, 1.0, signed=False, symmetric=True)
    with pytest.raises(ValueError, match="bits"):
        Q.qrange(1)


def test_fake_quant_straight_through_gradient():
    """Is the forward quantize-dequantize, and the gradient 1 inside the range and 0 outside?"""
    x = torch.tensor([-3.0, -0.26, 0.0, 0.25, 0.74, 3.0], requires_grad=True)
    y = fake_quantize(x, 0.1, 0, bits=4)  # int4: -8..7 -> [-0.8, 0.7]
    assert torch.allclose(y, torch.tensor([-0.8, -0.3, 0.0, 0.3, 0.7, 0.7]))
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]


def _frexp_reference(real: float) -> tuple[int, int]:
    """QuantizeMultiplier from its definition: the smallest shift with real*2**(31-shift) < 2**31."""
    shift = 0
    while real * 2.0 ** (31 - shift) >= 2**31:
        shift += 1
    while real * 2.0 ** (31 - shift) < 2**30:
        shift -= 1
    m = int(np.floor(real * 2.0 ** (31 - shift) + 0.5))
    return (m // 2, shift + 1) if m == 2**31 else (m, shift)


def test_quantize_multiplier_matches_definition():
    """Does (multiplier, shift) equal a straightforward search, and reproduce real to 2**-31?"""
    rng = np.random.default_rng(1)
    reals = np.concatenate([10.0 ** rng.uniform(-6, 1, 500), [0.5, 1.0, 0.25, 1 - 2**-40]])
    for real in reals:
        m, shift = Q.quantize_multiplier(real)
        assert (m, shift) == _frexp_reference(real)
        assert 2**30 <= m < 2**31
        assert abs(m * 2.0 ** (shift - 31) - real) <= real * 2**-31
    assert Q.quantize_multiplier(0.0) == (0, 0)
    with pytest.raises(ValueError):
        Q.quantize_multiplier(-0.1)


def _srdhm(a: int, b: int) -> int:
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return int((ab + nudge) / (1 << 31)) if abs(ab + nudge) < 2**52 else \
        (abs(ab + nudge) >> 31) * (1 if ab + nudge >= 0 else -1)


def _rdbpot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if remainder > threshold else 0)


def test_requantization_matches_python_int_reference():
    """Does the vectorized double rounding equal gemmlowp's code run on Python ints?"""
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.integers(-(2**20), 2**20, 3000), [INT32_MIN, INT32_MAX, 0, -1, 1]])
    for real in (0.0037, 0.61, 1.7e-5, 0.5):
        m, shift = Q.quantize_multiplier(real)
        got = Q.multiply_by_quantized_multiplier(x, m, shift)
        want = [_rdbpot(_srdhm(int(v) << max(shift, 0), m), max(-shift, 0)) for v in x]
        assert got.tolist() == want
    assert Q.saturating_rounding_doubling_high_mul(np.array([INT32_MIN]), INT32_MIN)[0] == INT32_MAX
    # ties go away from zero: -3/2 -> -2, 3/2 -> 2, -5/4 -> -1
    assert Q.rounding_divide_by_pot(np.array([-3, 3, -5, 5]), 1).tolist() == [-2, 2, -3, 3]


def test_double_rounding_differs_from_single_rounding():
    """Is there an accumulator where rounding twice gives a different int than rounding once?"""
    m, shift = 1824050278, -7  # a real multiplier from the course model's FC layer
    acc = np.arange(0, 20000)
    double = Q.multiply_by_quantized_multiplier(acc, m, shift)
    single = Q.multiply_by_quantized_multiplier_single_rounding(acc, m, shift)
    exact = np.floor(acc * (m * 2.0 ** (shift - 31)) + 0.5)
    assert (single == exact).all()
    assert (double != single).any() and np.abs(double - single).max() == 1
    assert Q.multiply_by_quantized_multiplier(np.array([5952]), m, shift)[0] == 40
    assert Q.multiply_by_quantized_multiplier_single_rounding(np.array([5952]), m, shift)[0] == 39


def test_requantization_rejects_floats():
    """Does requantization refuse float accumulators instead of rounding them silently?"""
    m, shift = Q.quantize_multiplier(0.01)
    with pytest.raises(TypeError):
        Q.multiply_by_quantized_multiplier(np.array([1.5]), m, shift)


def test_conv_multipliers_follow_tflm():
    """Are the multipliers TFLM's: float32 scales widened to double, in * filter / out?"""
    m, shift = Q.conv_multipliers(0.1, [0.2, 0.05], 0.3)
    want = [Q.quantize_multiplier(float(np.float32(0.1)) * float(np.float32(s))
                                  / float(np.float32(0.3))) for s in (0.2, 0.05)]
    assert list(zip(m, shift, strict=True)) == want
    assert want[0] != Q.quantize_multiplier(0.1 * 0.2 / 0.3), "float32 scales, not float64"
    # One (per-tensor) filter scale gives one pair, which broadcasts over the channels.
    assert Q.conv_multipliers(0.1, (0.2,), 0.3) == ([m[0]], [shift[0]])
    assert Q.conv_multipliers(0.1, 0.2, 0.3) == ([m[0]], [shift[0]])


def test_compute_padding_is_tensorflows_same_and_valid():
    """Is the leading padding TensorFlow's: half of the total for SAME (less in front), 0 for VALID?"""
    for in_size in range(1, 13):
        for filter_size in range(1, 6):
            for stride in (1, 2, 3):
                for dilation in (1, 2):
                    effective = (filter_size - 1) * dilation + 1
                    same = -(-in_size // stride)
                    total = max((same - 1) * stride + effective - in_size, 0)
                    args = (stride, dilation, in_size, filter_size)
                    assert Q.compute_padding(*args, same) == total // 2
                    if in_size >= effective:
                        valid = (in_size - effective) // stride + 1
                        assert Q.compute_padding(*args, valid) == 0
