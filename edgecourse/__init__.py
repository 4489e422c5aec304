"""edgecourse: the helper package every lesson imports.

Importing tensorflow and then torchvision in one process segfaults, so this package imports
torch and torchvision first, and hands out tensorflow only through :func:`edgecourse.tf`.
Always ``import edgecourse`` before anything else in a notebook.
"""

import torch  # noqa: I001  (order matters: torch and torchvision before tensorflow)
import torchvision  # noqa: F401

from edgecourse.seeding import set_seed

__version__ = "0.1.0"

# Tiny models on 8x8 images: one thread is as fast as two, and makes every run bit-identical
# whatever the machine's core count (and lets tests run notebooks side by side).
torch.set_num_threads(1)


def tf():
    """Import and return tensorflow, after torch (the safe order)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow

    return tensorflow


__all__ = ["set_seed", "tf", "__version__"]
