"""Speed on the Cortex-M4: instructions per inference and per multiply-accumulate, per route.

One table from one run: the course model (distilled + int8) through the three porting routes of
lesson 05 and as float32 on the FPU (lesson 04), lesson 02's three versions of the course CNN as generated C (dense, 82% pruned run
by the sparse kernel, channel-pruned), and (full benchmark only) the Keras models of the
firmware tests through the three routes. Every row is built for the Cortex-M4, run under QEMU,
its outputs compared with the TFLM Python runtime, and measured by the same toolchain.
"""

import importlib.util
from pathlib import Path

from edgecourse.deploy.export import to_tflite
from edgecourse.deploy.firmware.report import FirmwareReport
from edgecourse.deploy.tflite_model import count_macs
from edgecourse.lab.data import load_digits_split

VARIANT_IMAGES = 20  # test images each variant runs (instructions are counted per inference)


def speed_row(label: str, report: FirmwareReport, macs: int, reference: int) -> dict:
    """Return one row: flash, RAM, instructions per inference and per MAC, ratio to reference."""
    return {"model / route": label, "MACs": macs, "flash B": report.flash_bytes,
            "RAM B": report.ram_bytes, "instr/inference": report.instructions,
            "instr/MAC": f"{report.instructions / macs:.2f}",
            "ratio": f"{report.instructions / reference:.2f}x"}


def route_rows(model_bytes: bytes, reports: list[FirmwareReport],
               name: str = "course model") -> list[dict]:
    """Return one model's routes (generated C first) as speed rows."""
    macs = count_macs(model_bytes)
    first = reports[0].instructions
    return [speed_row(f"{name}, {r.route}", r, macs, first) for r in reports]


def float32_row(reference: int, images: int = VARIANT_IMAGES) -> dict:
    """Lesson 04: the course model as float32 in TFLM (reference kernels) on the Cortex-M4F's FPU."""
    from edgecourse.deploy.firmware.verify import verify_tflm
    from edgecourse.deploy.runtimes import model_input
    from edgecourse.lab.recipes import distilled_student

    digits = load_digits_split()
    model_bytes = to_tflite(distilled_student(), digits.train.X[:200], "float32")
    report = verify_tflm(model_bytes, model_input(model_bytes, digits.test.X[:images]),
                         "course_fp32", "reference", host=False)
    if report.qemu_matches != 1.0:
        raise RuntimeError("the float32 TFLM firmware differs from the TFLM Python runtime")
    return speed_row("course model float32, TFLM reference (FPU)", report,
                     count_macs(model_bytes), reference)


def behind_cmsis_nn(name: str, reports: list[FirmwareReport]) -> list[str]:
    """Return a sentence when the generated C is not ahead of TFLM + CMSIS-NN on the model."""
    routes = {r.route: r.instructions for r in reports}
    c, cmsis = routes.get("generated C"), routes.get("TFLM cmsis-nn")
    if c is None or cmsis is None or c < cmsis:
        return []
    return [f"the {name}'s generated C takes {c:,} instructions per inference, behind TFLM + "
            f"CMSIS-NN ({cmsis:,})"]


def firmware_test_rows(root: Path) -> tuple[list[dict], list[str]]:
    """Return the speed rows of the firmware tests' Keras models and the routes falling behind."""
    from edgecourse.deploy.firmware.tflm_tree import available_trees
    from edgecourse.deploy.firmware.verify import verify_c, verify_tflm
    from edgecourse.deploy.runtimes import model_input

    spec = importlib.util.spec_from_file_location("firmware_models",
                                                  root / "tests" / "firmware_models.py")
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    rows, behind = [], []
    for name, build, shape in (("depthwise_avgpool", models.depthwise_avgpool_model, (10, 12, 2)),
                               ("maxpool_dense", models.maxpool_dense_model, (9, 9, 3))):
        model_bytes = build()
        X = model_input(model_bytes, models.images(shape, 10, seed=1))
        reports = [verify_c(model_bytes, X, name, host=False)]
        reports += [verify_tflm(model_bytes, X, name, kernels, host=False)
                    for kernels in available_trees()]
        for r in reports:
            if r.qemu_matches != 1.0:
                raise RuntimeError(f"{name}: {r.route} differs from TFLM under QEMU")
        rows += route_rows(model_bytes, reports, f"{name} (test)")
        behind += behind_cmsis_nn(f"{name} (test) model", reports)
    return rows, behind


def pruning_rows(images: int = VARIANT_IMAGES) -> list[dict]:
    """Lesson 02 on the Cortex-M4: the course CNN dense, 82% pruned (sparse kernel), 50% channels."""
    from edgecourse.deploy.firmware.verify import verify_c
    from edgecourse.deploy.runtimes import model_input
    from edgecourse.lab.pruning import channel_pruned_course_model, pruned_course_model
    from edgecourse.lab.recipes import course_model

    digits = load_digits_split()
    variants = [("course CNN, dense C", course_model(), False),
                ("course CNN 82% pruned, sparse C", pruned_course_model(), True),
                ("course CNN 50% channels, dense C", channel_pruned_course_model(), False)]
    rows = []
    for label, net, sparse in variants:
        model_bytes = to_tflite(net, digits.train.X[:200], "int8")
        report = verify_c(model_bytes, model_input(model_bytes, digits.test.X[:images]),
                          "course_cnn", host=False, sparse=sparse)
        if report.qemu_matches != 1.0:
            raise RuntimeError(f"{label}: the firmware differs from TFLM on "
                               f"{1 - report.qemu_matches:.0%} of {images} test images")
        macs = count_macs(model_bytes, nonzero_only=sparse)
        rows.append(speed_row(label, report, macs,
                              rows[0]["instr/inference"] if rows else report.instructions))
    return rows
