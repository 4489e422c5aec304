"""Build the TFLM libraries the course model needs before anything waits on them.

``python -m edgecourse.bench.tflm_cache`` (``make test`` runs it first): on a machine with a
cold cache the three libraries (host and Cortex-M4 reference kernels, Cortex-M4 CMSIS-NN)
take minutes to compile, longer than one notebook cell may wait; with a warm cache this takes
seconds. Prints what it built and exits 0 when no TFLM tree is found (the tests then skip).
"""

import sys
import time

from edgecourse.deploy.export import to_tflite
from edgecourse.deploy.firmware.tflm_tree import available_trees
from edgecourse.deploy.firmware.verify import verify_tflm
from edgecourse.deploy.runtimes import model_input
from edgecourse.lab.data import load_digits_split
from edgecourse.lab.recipes import distilled_student


def main() -> int:
    trees = available_trees()
    if not trees:
        print("no TFLM tree found: nothing to build (set EDGECOURSE_TFLM_TREE)")
        return 0
    digits = load_digits_split()
    model = to_tflite(distilled_student(), digits.train.X[:200], "int8")
    X = model_input(model, digits.test.X[:1])
    for kernels in trees:
        start = time.perf_counter()
        report = verify_tflm(model, X, "course_student", kernels, count=False)
        print(f"TFLM {kernels}: libraries ready in {time.perf_counter() - start:.0f} s "
              f"(QEMU equal: {report.qemu_matches:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
