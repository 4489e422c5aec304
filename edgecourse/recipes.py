"""How to rebuild the course's models, deterministically, instead of shipping binary weights.

Each recipe trains from a fixed seed on the fixed split, in seconds, and returns a fresh copy
(cached per process, so a notebook that asks twice trains once).
"""

import copy
from functools import lru_cache

from edgecourse.data import load_digits_split
from edgecourse.distillation import distillation_loss_fn
from edgecourse.models import COURSE_WIDTH, STUDENT_WIDTH, TEACHER_WIDTH, DigitsCNN, digits_cnn
from edgecourse.train import fit

EPOCHS = 20
DISTILL_T = 4.0
DISTILL_ALPHA = 0.9


@lru_cache(maxsize=8)
def _trained(width: float, seed: int, epochs: int) -> DigitsCNN:
    net = digits_cnn(width)
    fit(net, load_digits_split().train, epochs=epochs, seed=seed, desc=f"width {width}")
    return net


@lru_cache(maxsize=8)
def _distilled(seed: int, epochs: int, T: float, alpha: float) -> DigitsCNN:
    teacher = _trained(TEACHER_WIDTH, seed, epochs)
    student = digits_cnn(STUDENT_WIDTH)
    fit(student, load_digits_split().train, epochs=epochs, seed=seed,
        loss_fn=distillation_loss_fn(teacher, T=T, alpha=alpha), desc="distill")
    return student


def course_model(seed: int = 0) -> DigitsCNN:
    """Return the course CNN (width 2) trained on the train split: the model lessons compress."""
    return copy.deepcopy(_trained(COURSE_WIDTH, seed, EPOCHS))


def teacher(seed: int = 0) -> DigitsCNN:
    """Return the teacher (width 4) trained on the train split (lesson 03)."""
    return copy.deepcopy(_trained(TEACHER_WIDTH, seed, EPOCHS))


def distilled_student(seed: int = 0) -> DigitsCNN:
    """Return the student (width 0.5) distilled from the teacher: quantized in 04, deployed in 05."""
    return copy.deepcopy(_distilled(seed, EPOCHS, DISTILL_T, DISTILL_ALPHA))
