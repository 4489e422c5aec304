"""edgecourse: a course in embedded machine learning, in three rooms.

- :mod:`edgecourse.lab`: what the lessons use (data, models, training, pruning, distillation,
  quantization math, plots, checks). Imports torch.
- :mod:`edgecourse.deploy`: the embedded engineer's chain (``.tflite`` reader, export, runtimes,
  firmware). May use ``lab``; the firmware generator itself needs neither torch nor tensorflow.
- :mod:`edgecourse.grading`: the instructor's nbgrader machinery. Uses neither of the others.

Importing this root imports nothing heavy. ``edgecourse.set_seed`` and ``edgecourse.tf`` are
looked up in :mod:`edgecourse.lab` on first use, so ``import edgecourse`` stays the first line of
every lesson.
"""

__version__ = "0.1.0"

_LAB_NAMES = {"set_seed": "edgecourse.lab.seeding", "tf": "edgecourse.lab.backend"}


def __getattr__(name: str):
    if name in _LAB_NAMES:
        import importlib

        return getattr(importlib.import_module(_LAB_NAMES[name]), name)
    raise AttributeError(f"module 'edgecourse' has no attribute {name!r}")


__all__ = ["set_seed", "tf", "__version__"]
