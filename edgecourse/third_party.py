"""Where the offline TFLM source trees lie: ``$EDGECOURSE_TFLM_TREE`` and
``$EDGECOURSE_TFLM_CMSIS_NN_TREE``, else ``../shared/third_party/`` beside the repository.

The firmware tools check and read them (:mod:`edgecourse.deploy.firmware.tflm_tree`); the grader
lets a student's kernel read them (:mod:`edgecourse.grading.worker`).
"""

import os
from pathlib import Path

KERNELS = ("reference", "cmsis-nn")
#: Environment variables that point at a tree, per kernel variant.
TREE_ENV = {"reference": "EDGECOURSE_TFLM_TREE", "cmsis-nn": "EDGECOURSE_TFLM_CMSIS_NN_TREE"}
#: Folder names under ``../shared/third_party/`` (relative to the repository root).
TREE_DIRS = {"reference": "tflm", "cmsis-nn": "tflm-cmsis-nn"}


def tree_location(kernels: str) -> Path:
    """Return where the tree for the kernels is looked for (not checked): $EDGECOURSE_..., else
    ../shared/third_party/."""
    if os.environ.get(TREE_ENV[kernels]):
        return Path(os.environ[TREE_ENV[kernels]]).expanduser()
    return Path(__file__).resolve().parents[2] / "shared" / "third_party" / TREE_DIRS[kernels]
