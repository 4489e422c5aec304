"""The compression ledger of the course model: accuracy and bytes as deployed, step by step.

Reuses what the lessons build (recipes, pruning, export, TFLM, firmware); copies no lesson code.
"""

from dataclasses import asdict, dataclass

import numpy as np
from torch import nn

from edgecourse.bench.findings import findings
from edgecourse.bench.speed import float32_row, pruning_rows, route_rows
from edgecourse.deploy.export import to_tflite
from edgecourse.deploy.runtimes import run_tflite
from edgecourse.lab.budgets import count_params
from edgecourse.lab.data import load_digits_split
from edgecourse.lab.pruning import prunable_weights, sparse_sizes
from edgecourse.lab.recipes import course_model, distilled_student
from edgecourse.lab.train import evaluate

CALIBRATION_IMAGES = 200
INT8_MIN_RATIO, INT8_MAX_LOSS = 4.0, 1.0
COMBINED_MIN_RATIO, COMBINED_MAX_LOSS = 10.0, 1.5
FIRMWARE_IMAGES = 360  # the whole test split, run on the host and under QEMU


@dataclass(frozen=True)
class Row:
    """One step of the ledger."""

    step: str
    kind: str  # baseline | fp32 | int8 | combined | firmware
    accuracy: float  # test split, percent
    params: int  # non-zero parameters of the torch model: count_params(net, nonzero_only=True)
    payload_bytes: int  # the weights and biases as stored: what compression acts on
    deployed_bytes: int  # the whole artifact: .tflite file, or firmware flash
    note: str


def tflite_accuracy(model_bytes: bytes) -> float:
    """Return the test accuracy (percent) of a .tflite run with TFLite's reference kernels."""
    test = load_digits_split().test
    logits = run_tflite(model_bytes, test.X)
    return float(100.0 * np.mean(logits.argmax(1) == test.y.numpy()))


def payload_bytes(model_bytes: bytes) -> int:
    """Return the bytes of a .tflite's constant tensors (weights, biases, shapes)."""
    from edgecourse.deploy.tflite_model import load_tflite

    return sum(t.nbytes for t in load_tflite(model_bytes).tensors if t.is_constant)


def _tflite_row(step: str, kind: str, net: nn.Module, mode: str, note: str) -> tuple[Row, bytes]:
    model_bytes = to_tflite(net, load_digits_split().train.X[:CALIBRATION_IMAGES], mode)
    row = Row(step, kind, round(tflite_accuracy(model_bytes), 2), count_params(net, nonzero_only=True),
              payload_bytes(model_bytes), len(model_bytes), note)
    return row, model_bytes


def _bitmask_saving_int8(net: nn.Module) -> int:
    """Return the bytes saved by storing the int8 weights as bitmask + non-zero values."""
    weights = list(prunable_weights(net).values())
    dense_int8 = sum(w.numel() for w in weights)
    nonzero = sum(int((w != 0).sum()) for w in weights)
    bitmask = sum((w.numel() + 7) // 8 for w in weights)
    return dense_int8 - nonzero - bitmask


def ledger_rows() -> tuple[list[Row], bytes]:
    """Build every row except firmware; return them and the deployed int8 model's bytes."""
    from edgecourse.lab.pruning import pruned_course_model

    base, pruned, student = course_model(), pruned_course_model(), distilled_student()
    rows = []
    baseline, _ = _tflite_row("fp32 baseline (.tflite)", "baseline", base, "float32",
                              "the course CNN, width 2")
    rows.append(baseline)
    sizes = sparse_sizes(pruned)
    saving = sizes["dense"] - sizes["bitmask"]
    rows.append(Row("pruned, dense fp32 file", "fp32", round(evaluate(pruned, load_digits_split().test), 2),
                    count_params(pruned, nonzero_only=True), baseline.payload_bytes,
                    baseline.deployed_bytes, "zeros cost as much as any other float"))
    rows.append(Row("pruned, bitmask-encoded fp32", "fp32", rows[-1].accuracy, rows[-1].params,
                    baseline.payload_bytes - saving, baseline.deployed_bytes - saving,
                    "weights as bitmask + non-zero values"))
    row, _ = _tflite_row("distilled student (.tflite)", "fp32", student, "float32",
                         "student distilled from the width-4 teacher")
    rows.append(row)
    row, _ = _tflite_row("int8 (.tflite)", "int8", base, "int8", "full-integer post-training quantization")
    rows.append(row)
    row, _ = _tflite_row("pruned + int8 (.tflite)", "int8", pruned, "int8", "dense int8 file")
    rows.append(row)
    saving = _bitmask_saving_int8(pruned)
    rows.append(Row("pruned + int8, bitmask-encoded", "combined", row.accuracy, row.params,
                    row.payload_bytes - saving, row.deployed_bytes - saving,
                    "int8 weights as bitmask + values"))
    row, student_int8 = _tflite_row("distilled + int8 (.tflite)", "combined", student, "int8",
                                    "the model lesson 05 deploys")
    rows.append(row)
    return rows, student_int8


def target_misses(rows: list[Row]) -> list[str]:
    """Check the ledger's two targets against the fp32 baseline; return what is missed.

    The ratios are taken on the payload (weights and biases as stored). A .tflite file adds a
    fixed ~5 KB of structure and per-channel quantization parameters, which for a 14k-parameter
    model caps the file-to-file ratio; the table shows that ratio too.
    """
    base = next(r for r in rows if r.kind == "baseline")
    found = []
    for kinds, min_ratio, max_loss, what in (
        (("int8", "combined"), INT8_MIN_RATIO, INT8_MAX_LOSS, "an int8 deployment"),
        (("combined",), COMBINED_MIN_RATIO, COMBINED_MAX_LOSS, "a combined pipeline"),
    ):
        ok = [r for r in rows if r.kind in kinds and base.accuracy - r.accuracy <= max_loss]
        best = max((base.payload_bytes / r.payload_bytes for r in ok), default=0.0)
        if best < min_ratio:
            found.append(f"{what} within {max_loss} points of fp32 is at best {best:.1f}x smaller "
                         f"(target {min_ratio:.0f}x)")
    return found


def format_rows(rows: list[Row]) -> str:
    """Render the ledger as a fixed-width table."""
    base = next(r for r in rows if r.kind == "baseline")
    lines = [f"{'step':<34} {'acc %':>6} {'params':>7} {'payload B':>9} {'x smaller':>9} "
             f"{'deployed B':>10} {'x smaller':>9}  note"]
    for r in rows:
        lines.append(
            f"{r.step:<34} {r.accuracy:>6.2f} {r.params:>7} {r.payload_bytes:>9} "
            f"{base.payload_bytes / r.payload_bytes:>9.1f} {r.deployed_bytes:>10} "
            f"{base.deployed_bytes / r.deployed_bytes:>9.1f}  {r.note}")
    return "\n".join(lines)


def _firmware_row(step: str, report, accuracy: float, params: int, payload: int) -> Row:
    """Return a ledger row of one route's firmware, as measured on the Cortex-M4."""
    return Row(step, "firmware", round(accuracy, 2), params, payload, report.flash_bytes,
               f"whole image; RAM {report.ram_bytes} B (arena {report.arena_bytes}, stack "
               f"{report.stack_bytes}); setup {report.setup_instructions:,} and "
               f"{report.instructions:,} instructions per inference; equal to TFLM on "
               f"{len(report.tflm)} images")


def firmware_rows(model_bytes: bytes, params: int,
                  images: int = FIRMWARE_IMAGES) -> tuple[list[Row], dict]:
    """Deploy the int8 model as generated C and as TFLM firmware (reference and CMSIS-NN).

    Each is built for the Cortex-M4, run under QEMU on the test images, compared with the TFLM
    Python runtime, and measured by the same toolchain. ``params`` is the count of the net the
    model came from (the .tflite's constants also hold RESHAPE's 2-element shape).
    """
    from edgecourse.deploy.firmware.tflm_tree import available_trees
    from edgecourse.deploy.firmware.verify import verify_c, verify_tflm
    from edgecourse.deploy.runtimes import model_input
    from edgecourse.deploy.tflite_model import load_tflite

    model = load_tflite(model_bytes)
    test = load_digits_split().test
    X = model_input(model, test.X[:images])
    reports = [verify_c(model, X, name="course_student", qemu=True, count=True)]
    trees = available_trees()
    reports += [verify_tflm(model, X, "course_student", kernels, host=kernels == "reference")
                for kernels in trees]
    for report in reports:
        matches = [m for m in (report.host_matches, report.qemu_matches) if m == m]
        if any(m != 1.0 for m in matches):
            raise RuntimeError(f"{report.route} differs from TFLM: host {report.host_matches:.1%},"
                               f" QEMU {report.qemu_matches:.1%} of {images} images equal")
    accuracy = float(100.0 * np.mean(reports[0].tflm.argmax(1) == test.y.numpy()[:images]))
    payload = payload_bytes(model_bytes)
    steps = {"generated C": "generated C, Cortex-M4 image", "TFLM reference": "TFLM reference, "
             "Cortex-M4 image", "TFLM cmsis-nn": "TFLM + CMSIS-NN, Cortex-M4 image"}
    rows = [_firmware_row(steps[r.route], r, accuracy, params, payload) for r in reports]
    by_route = {r.route: r for r in reports}
    c, ref = by_route["generated C"], by_route.get("TFLM reference")
    cmsis = by_route.get("TFLM cmsis-nn")
    speed = {
        "c_instructions_per_inference": c.instructions,
        "tflm_instructions_per_inference": ref.instructions if ref else None,
        "tflm_cmsis_nn_instructions_per_inference": cmsis.instructions if cmsis else None,
        "ratio": ref.instructions / c.instructions if ref else None,
        "routes": {r.route: r.row() for r in reports},
        "speed": route_rows(model_bytes, reports),
    }
    if ref is None:
        speed["why_no_tflm_figure"] = ("no TFLM tree found: set EDGECOURSE_TFLM_TREE or add "
                                       "../shared/third_party/tflm")
    return rows, speed


def shared_rows(images: int = FIRMWARE_IMAGES) -> tuple[list[Row], dict]:
    """Lesson 06: the weight-shared student as int8 codebooks, in a .tflite and as generated C.

    Returns the two rows and the codebooks' figures the rows don't show (bits per layer, bytes of
    indices and codebooks, weights, instructions per inference).
    """
    from edgecourse.deploy.codebook import find_codebooks
    from edgecourse.deploy.firmware.verify import verify_c
    from edgecourse.deploy.runtimes import model_input
    from edgecourse.lab.recipes import shared_plan, shared_student

    net, plan = shared_student(), shared_plan()
    model_bytes = to_tflite(net, load_digits_split().train.X[:CALIBRATION_IMAGES], "int8",
                            per_channel=False)
    books = find_codebooks(model_bytes).values()
    payload = (payload_bytes(model_bytes) - sum(b.indices.size for b in books)
               + sum(b.nbytes for b in books))
    bits = "/".join(str(b) for b in plan.values())
    row = Row("weight-shared + int8 (.tflite)", "combined", round(tflite_accuracy(model_bytes), 2),
              count_params(net, nonzero_only=True), payload, len(model_bytes),
              f"k-means codebooks, {bits} bits per layer (lesson 06); the file holds int8 codes")
    test = load_digits_split().test
    report = verify_c(model_bytes, model_input(model_bytes, test.X[:images]), "course_shared",
                      codebook=True)
    if report.host_matches != 1.0 or report.qemu_matches != 1.0:
        raise RuntimeError("the codebook C differs from TFLM on the weight-shared student")
    fw = _firmware_row("codebook C, Cortex-M4 image", report, row.accuracy, row.params,
                       payload)
    facts = {"bits": bits, "bytes": sum(b.nbytes for b in books),
             "weights": sum(b.indices.size for b in books), "instructions": report.instructions}
    return [row, fw], facts


def compression_ledger() -> dict:
    """Return the ledger (rows, table, target misses, firmware figures) as a JSON-ready dict."""
    rows, student_int8 = ledger_rows()
    fw_rows, speed = firmware_rows(student_int8, count_params(distilled_student(), nonzero_only=True))
    shared, codebook = shared_rows()
    rows += fw_rows + shared
    speed["speed"].append(float32_row(speed["c_instructions_per_inference"]))
    speed["speed"] += pruning_rows()
    ledger = {"rows": [asdict(r) for r in rows], "table": format_rows(rows),
              "firmware_speed": speed, "codebook": codebook, "misses": target_misses(rows)}
    if None not in (speed["tflm_instructions_per_inference"],
                    speed["tflm_cmsis_nn_instructions_per_inference"]):
        ledger["findings"] = findings(ledger)
    return ledger
