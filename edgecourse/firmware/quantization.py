"""The integer constants TFLM derives from a model's float scales, computed the way TFLM does.

TFLM turns each float scale ratio into a 32-bit fixed-point multiplier and a shift when it
prepares a kernel; the generated C holds the results as constants (no floats on the device).
"""

from __future__ import annotations

import math

import numpy as np

# One implementation of TFLite's arithmetic, shared with lesson 04's integer reference.
from edgecourse.quantization import activation_range, quantize_multiplier  # noqa: F401

INT8_MIN, INT8_MAX = -128, 127


def conv_multipliers(input_scale: float, filter_scales, output_scale: float):
    """Return per-channel (multipliers, shifts) of a conv/FC layer (PopulateConvolution...)."""
    pairs = [quantize_multiplier(float(np.float32(input_scale)) * float(np.float32(s))
                                 / float(np.float32(output_scale))) for s in filter_scales]
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


def output_size(padding: str, in_size: int, filter_size: int, stride: int,
                dilation: int = 1) -> int:
    """Return the output length of a SAME or VALID window along one axis."""
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size + stride - effective) // stride
