"""Quantization in torch for lesson 04: fake quantization with a straight-through estimator.

TFLite's integer arithmetic itself (qparams, quantize, fixed-point multipliers) lives in
:mod:`edgecourse.lab.arithmetic`; this module adds what needs autograd.
"""

import torch

from edgecourse.lab import backend  # noqa: F401  (torch before tensorflow)
from edgecourse.lab.arithmetic import qrange


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
