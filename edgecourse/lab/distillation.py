"""Knowledge distillation (lesson 03): temperature softmax and the Hinton et al. KD loss.

Lessons 04 and 05 get the distilled student from :mod:`edgecourse.lab.recipes`, which trains it with
:func:`distillation_loss_fn`.
"""

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from edgecourse.lab import backend  # noqa: F401  (torch and torchvision first, one thread)
from edgecourse.lab.train import check_net, eval_mode


def _check_temperature(T: float) -> None:
    if isinstance(T, bool) or not isinstance(T, int | float) or not math.isfinite(T) or T <= 0:
        raise ValueError(f"temperature T must be a finite number > 0 (try 1 to 10), got {T!r}")


def _check_alpha(alpha: float) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 <= alpha <= 1.0:
        raise ValueError(
            f"alpha must be a number in [0, 1] (1 = soft labels only, 0 = hard labels only), "
            f"got {alpha!r}"
        )


def _check_logits(logits: torch.Tensor, what: str) -> None:
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise TypeError(f"{what} must be floating point, got {logits.dtype}")


def kd_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, y: torch.Tensor,
    T: float = 4.0, alpha: float = 0.9,
) -> torch.Tensor:
    """Return alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, y).

    KL is averaged over the batch. The T^2 keeps the soft term's gradients the same size as the
    hard term's when T changes (its gradient with respect to the logits shrinks like 1/T^2).
    """
    _check_logits(student_logits, "student_logits")
    _check_logits(teacher_logits, "teacher_logits")
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError(
            f"student and teacher logits must both be (batch, classes) with the same shape; got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64:
        raise TypeError(f"y must be an int64 tensor of class indices, got {getattr(y, 'dtype', type(y))}")
    if y.shape != student_logits.shape[:1]:
        raise ValueError(
            f"y must hold one label per row of the logits: expected shape "
            f"{tuple(student_logits.shape[:1])}, got {tuple(y.shape)}"
        )
    _check_temperature(T)
    _check_alpha(alpha)
    # kl_div(input=log q, target=p) computes KL(p || q): the teacher is the target distribution.
    soft = F.kl_div(
        F.log_softmax(student_logits / T, dim=-1), F.softmax(teacher_logits / T, dim=-1),
        reduction="batchmean",
    )
    hard = F.cross_entropy(student_logits, y)
    return alpha * T * T * soft + (1.0 - alpha) * hard


def distillation_loss_fn(
    teacher: nn.Module, T: float = 4.0, alpha: float = 0.9,
) -> Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]:
    """Return a ``loss_fn(net, X, y)`` for :func:`edgecourse.lab.train.fit` that distills ``teacher``."""
    check_net(teacher, "teacher")
    _check_temperature(T)
    _check_alpha(alpha)

    def loss_fn(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # The teacher is fixed: no graph through it, and it answers in eval mode.
        with torch.no_grad(), eval_mode(teacher):
            teacher_logits = teacher(X)
        return kd_loss(net(X), teacher_logits, y, T=T, alpha=alpha)

    return loss_fn
