"""The course data: scikit-learn's bundled handwritten digits, one fixed split (lesson 01).

1,797 real 8x8 grey-level images ship inside scikit-learn, so nothing is downloaded.
Pixels are scaled from 0..16 to 0..1; images are NCHW tensors of shape (N, 1, 8, 8).
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from edgecourse.lab import backend  # noqa: F401  (torch and torchvision first, one thread)

LABELS = tuple(str(d) for d in range(10))
SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    """Images X (N, 1, 8, 8) float32 in [0, 1] and labels y (N,) int64."""

    X: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Digits:
    """The course's one train/val/test split (60/20/20, stratified)."""

    train: Split
    val: Split
    test: Split
    labels: tuple[str, ...] = LABELS


@lru_cache(maxsize=1)
def load_digits_split() -> Digits:
    """Return the course's fixed stratified train/val/test split of the digits."""
    bunch = load_digits()
    X = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    idx = np.arange(len(y))
    idx_train, idx_rest = train_test_split(
        idx, test_size=0.4, stratify=y, random_state=SPLIT_SEED
    )
    idx_val, idx_test = train_test_split(
        idx_rest, test_size=0.5, stratify=y[idx_rest], random_state=SPLIT_SEED
    )

    def split(i: np.ndarray) -> Split:
        i = np.sort(i)
        return Split(torch.from_numpy(X[i]), torch.from_numpy(y[i]))

    return Digits(split(idx_train), split(idx_val), split(idx_test))


def subset(split: Split, n_per_class: int, seed: int = 0) -> Split:
    """Return a class-balanced subset with ``n_per_class`` images of each digit."""
    if n_per_class <= 0:
        raise ValueError(f"n_per_class must be positive, got {n_per_class}")
    rng = np.random.default_rng(seed)
    y = split.y.numpy()
    picks = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < n_per_class:
            raise ValueError(f"class {c} has only {len(members)} images, asked for {n_per_class}")
        picks.append(rng.choice(members, size=n_per_class, replace=False))
    i = np.sort(np.concatenate(picks))
    return Split(split.X[i], split.y[i])
