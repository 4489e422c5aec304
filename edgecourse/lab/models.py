"""The course's small CNN family for 8x8 digits (lesson 01; compressed in lessons 02-05).

Every op maps onto a TFLite builtin (CONV_2D, MAX_POOL_2D, RESHAPE, FULLY_CONNECTED), so each
model can be exported to int8 TFLite and run on a microcontroller.
"""

import torch
from torch import nn

from edgecourse.lab import backend  # noqa: F401  (torch and torchvision first, one thread)

BASE_CHANNELS = (8, 16)
BASE_HIDDEN = 32
COURSE_WIDTH = 2.0  # the model lessons 02-05 compress
TEACHER_WIDTH = 4.0
STUDENT_WIDTH = 1.0  # lesson 03: width 0.5 tops out near 94%; width 1 distils to ~98%


class DigitsCNN(nn.Module):
    """conv3x3-relu-maxpool, conv3x3-relu-maxpool, flatten, fc-relu, fc (10 logits)."""

    def __init__(
        self, channels: tuple[int, int] = BASE_CHANNELS, hidden: int = BASE_HIDDEN,
        num_classes: int = 10, input_size: int = 8,
    ):
        super().__init__()
        c1, c2 = channels
        if min(c1, c2, hidden, num_classes) < 1:
            raise ValueError(f"channels, hidden and num_classes must be >= 1, got {channels}, {hidden}, {num_classes}")
        if input_size < 4 or input_size % 4:
            raise ValueError(f"input_size must be a multiple of 4 (two 2x2 poolings), got {input_size}")
        self.channels, self.hidden, self.num_classes = (c1, c2), hidden, num_classes
        self.input_size = input_size
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * (input_size // 4) ** 2, hidden), nn.ReLU(), nn.Linear(hidden, num_classes),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(X))


def digits_cnn(width: float = 1.0, num_classes: int = 10, input_size: int = 8) -> DigitsCNN:
    """Build the course CNN scaled by a width multiplier (channels and hidden units)."""
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    c1, c2 = (max(1, round(c * width)) for c in BASE_CHANNELS)
    return DigitsCNN((c1, c2), max(1, round(BASE_HIDDEN * width)), num_classes, input_size)


class SensorCNN(nn.Module):
    """Lesson 07: average-pool a 16x16 frame by ``pool`` (1, 2 or 4), then the course CNN."""

    def __init__(self, width: float = 1.0, pool: int = 1, frame: int = 16):
        super().__init__()
        if pool not in (1, 2, 4) or frame % (4 * pool):
            raise ValueError(f"pool must be 1, 2 or 4 and divide the {frame}x{frame} frame into a "
                             f"multiple of 4, got {pool}")
        self.resize = nn.AvgPool2d(pool) if pool > 1 else nn.Identity()
        self.cnn = digits_cnn(width, input_size=frame // pool)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.cnn(self.resize(X))
