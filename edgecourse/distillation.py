"""Knowledge distillation (lesson 03): temperature softmax and the Hinton et al. KD loss."""

import torch
from torch import nn
from torch.nn import functional as F


def softmax_t(logits: torch.Tensor, T: float = 1.0) -> torch.Tensor:
    """Return softmax(logits / T) over the class axis (the last one)."""
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T}")
    return F.softmax(logits / T, dim=-1)


def kd_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, y: torch.Tensor,
    T: float = 4.0, alpha: float = 0.9,
) -> torch.Tensor:
    """Return alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, y).

    The T^2 keeps the soft term's gradients the same size as the hard term's when T changes.
    """
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError(
            f"student and teacher logits must both be (batch, classes); got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    soft = F.kl_div(
        F.log_softmax(student_logits / T, dim=-1), F.softmax(teacher_logits / T, dim=-1),
        reduction="batchmean",
    )
    hard = F.cross_entropy(student_logits, y)
    return alpha * T * T * soft + (1.0 - alpha) * hard


def distillation_loss_fn(teacher: nn.Module, T: float = 4.0, alpha: float = 0.9):
    """Return a ``loss_fn(net, X, y)`` for :func:`edgecourse.train.fit` that distills ``teacher``."""
    teacher.eval()

    def loss_fn(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            teacher_logits = teacher(X)
        return kd_loss(net(X), teacher_logits, y, T=T, alpha=alpha)

    return loss_fn
