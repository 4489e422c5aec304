"""Import torch the course's way (every lesson, through any ``edgecourse.lab`` module).

Importing tensorflow and then torchvision in one process segfaults, so torch and torchvision are
imported here first, and tensorflow is handed out only through :func:`tf`, which imports this
module before it.
"""

import os

import torch
import torchvision  # noqa: F401  (before tensorflow, always)

# Tiny models on 8x8 images: one thread is as fast as two, and makes every run bit-identical
# whatever the machine's core count (and lets tests run notebooks side by side).
torch.set_num_threads(1)


def tf():
    """Import and return tensorflow, after torch and torchvision (the safe order)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow

    return tensorflow
