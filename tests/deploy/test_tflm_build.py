"""Does the generated TFLM firmware build, run and equal the TFLM Python runtime, everywhere?

Three int8 models (the course's distilled student and two Keras models it never saw), built
from the offline TFLM trees (../shared/third_party/ or $EDGECOURSE_TFLM_TREE /
$EDGECOURSE_TFLM_CMSIS_NN_TREE): on the host and on the Cortex-M4 under QEMU with reference
kernels, on the Cortex-M4 with CMSIS-NN kernels. The TFLM library is cached between builds
(cold: minutes; cached: seconds), so the tests share one xdist worker.
"""

import numpy as np
import pytest
from firmware_models import (
    course_images,
    course_model,
    course_model_float32,
    depthwise_avgpool_model,
    images,
    maxpool_dense_model,
)
from lessons import solution_constants

from edgecourse.cli import main as cli
from edgecourse.deploy.firmware import verify_c, verify_tflm
from edgecourse.deploy.firmware.report import format_table
from edgecourse.deploy.firmware.tflm_build import build_project
from edgecourse.deploy.firmware.tflm_tree import available_trees
from edgecourse.deploy.runtimes import model_input
from edgecourse.deploy.tflite_model import count_macs

TREES = available_trees()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("tflm_build"),
    pytest.mark.skipif(set(TREES) != {"reference", "cmsis-nn"},
                       reason="no TFLM trees: set EDGECOURSE_TFLM_TREE and "
                              "EDGECOURSE_TFLM_CMSIS_NN_TREE, or add ../shared/third_party/"),
]


def _keras_samples(model: bytes, shape, seed: int) -> np.ndarray:
    X = model_input(model, images(shape, 10, seed=seed))
    X[0], X[1] = -128, 127  # the extremes of the int8 range too
    return X


MODELS = {
    "course": lambda: (course_model(), model_input(course_model(), course_images(20))),
    "depthwise_avgpool": lambda: (depthwise_avgpool_model(),
                                  _keras_samples(depthwise_avgpool_model(), (10, 12, 2), 21)),
    "maxpool_dense": lambda: (maxpool_dense_model(),
                              _keras_samples(maxpool_dense_model(), (9, 9, 3), 22)),
}
_reports: dict = {}
_folders: dict = {}


def report(case: str, kernels: str, tmp_path_factory):
    """Build, run and measure one model with one kernel variant (once per session)."""
    if (case, kernels) not in _reports:
        model, X = MODELS[case]()
        _folders[case, kernels] = tmp_path_factory.mktemp(f"{case}-{kernels}")
        _reports[case, kernels] = verify_tflm(model, X, case, kernels, host=True, qemu=True,
                                              directory=_folders[case, kernels])
    return _reports[case, kernels]


@pytest.mark.parametrize("case", sorted(MODELS))
def test_reference_kernels_equal_tflm_on_host_and_cortex_m4(case, tmp_path_factory):
    r = report(case, "reference", tmp_path_factory)
    np.testing.assert_array_equal(r.host, r.tflm)
    np.testing.assert_array_equal(r.qemu, r.tflm)
    assert len(np.unique(r.tflm, axis=0)) > 3, "samples too alike to test anything"


@pytest.mark.parametrize("case", sorted(MODELS))
def test_cmsis_nn_kernels_equal_tflm_on_cortex_m4(case, tmp_path_factory):
    r = report(case, "cmsis-nn", tmp_path_factory)
    assert r.host is None, "CMSIS-NN kernels are built for the Cortex-M4 only"
    np.testing.assert_array_equal(r.qemu, r.tflm)


@pytest.mark.parametrize("kernels", ["reference", "cmsis-nn"])
def test_the_image_is_measured_from_the_link(kernels, tmp_path_factory):
    r = report("course", kernels, tmp_path_factory)
    parts = r.image.breakdown
    assert {"runtime libraries", "TFLM", "model", "application", "test data"} <= set(parts)
    assert len(course_model()) <= parts["model"]["flash"] < len(course_model()) + 64
    assert parts["TFLM"]["flash"] > 20_000, "the interpreter's code is flash too"
    listed = sum(p["flash"] for name, p in parts.items() if name != "test data")
    assert 0 <= r.flash_bytes - listed < 512, "the map's parts add up to the image (+ fill)"
    assert r.arena_bytes <= parts["application"]["ram"], "the tensor arena is static RAM"
    assert 256 < r.stack_bytes < 16 * 1024
    assert r.setup_instructions > 1_000, "AllocateTensors does real work"
    elf = _folders["course", kernels] / "build" / "cortex-m4" / "course.elf"
    assert str(TREES[kernels].resolve()).encode() not in elf.read_bytes(), (
        "the image holds the TFLM tree's path: its size would depend on where the tree lies")


def c_report(case: str, tmp_path_factory):
    """Build, run and measure the generated C of one model on the Cortex-M4 (once)."""
    if (case, "c") not in _reports:
        model, X = MODELS[case]()
        _reports[case, "c"] = verify_c(model, X[:2], case, host=False,
                                       directory=tmp_path_factory.mktemp(f"{case}-c"))
    return _reports[case, "c"]


def test_cmsis_nn_is_faster_than_reference_and_generated_c_faster_still(tmp_path_factory):
    ref = report("course", "reference", tmp_path_factory)
    cmsis = report("course", "cmsis-nn", tmp_path_factory)
    c = c_report("course", tmp_path_factory)
    print("\n" + format_table([c, ref, cmsis]))
    assert c.instructions < cmsis.instructions < ref.instructions
    assert c.flash_bytes < ref.flash_bytes and c.ram_bytes < ref.ram_bytes


@pytest.mark.parametrize("case", sorted(MODELS))
def test_generated_c_needs_at_most_0_7x_the_instructions_of_cmsis_nn(case, tmp_path_factory):
    cmsis = report(case, "cmsis-nn", tmp_path_factory)
    c = c_report(case, tmp_path_factory)
    model, _ = MODELS[case]()
    per_mac = c.instructions / count_macs(model)
    assert c.instructions <= 0.7 * cmsis.instructions, (
        f"{case}: generated C {c.instructions:,} instructions per inference, TFLM + CMSIS-NN "
        f"{cmsis.instructions:,} ({c.instructions / cmsis.instructions:.2f}x, at most 0.7x)")
    assert case != "course" or per_mac <= 4, f"{per_mac:.2f} instructions per MAC (at most 4)"


def test_the_library_is_cached_between_builds(tmp_path_factory):
    report("maxpool_dense", "reference", tmp_path_factory)  # builds (or reuses) the library
    build = build_project(_folders["maxpool_dense", "reference"], TREES["reference"], "host")
    assert build.library_cached and build.library.is_file()
    assert build.seconds < 60, f"a cached build took {build.seconds:.0f} s"


@pytest.mark.parametrize("target, kernels, run", [("tflm", "reference", "host"),
                                                   ("tflm", "cmsis-nn", "qemu"),
                                                   ("c", "reference", "qemu")])
def test_cli_builds_runs_and_prints_one_table(target, kernels, run, tmp_path, capsys):
    path = tmp_path / "maxpool_dense.tflite"
    path.write_bytes(maxpool_dense_model())
    capsys.readouterr()  # the converter prints (once per process) when it builds the model
    assert cli(["firmware", str(path), "-o", str(tmp_path / "fw"), "--target", target,
                "--kernels", kernels, "--build", "--run", run, "--samples", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "instr/inference" in lines[0]
    assert " 100%" in lines[1] and (run == "host" or "," in lines[1].split("100%")[-1])


def test_float32_runs_on_the_fpu_bit_for_bit_and_lesson_04_ranks_it_as_measured(tmp_path_factory):
    """Does lesson 04's float32 student run in TFLM on the Cortex-M4F's FPU with the TFLM Python
    runtime's outputs bit for bit (host and QEMU), and does the lesson's graded ranking (the
    grading reference) say what the three builds measure?"""
    model = course_model_float32()
    X = model_input(model, course_images(20))
    fp32 = verify_tflm(model, X, "course_fp32", "reference",
                       directory=tmp_path_factory.mktemp("course-fp32"))
    assert fp32.tflm.dtype == np.float32 and len(np.unique(fp32.tflm, axis=0)) > 3
    np.testing.assert_array_equal(fp32.host.view(np.uint32), fp32.tflm.view(np.uint32))
    np.testing.assert_array_equal(fp32.qemu.view(np.uint32), fp32.tflm.view(np.uint32))
    device = {"float32": fp32, "int8 reference": report("course", "reference", tmp_path_factory),
              "int8 cmsis-nn": report("course", "cmsis-nn", tmp_path_factory)}
    ns = solution_constants("04_quantization", "PREDICTED_COST")
    ranking = ns["PREDICTED_COST"]
    measured = {what: sorted(device, key=lambda f: getattr(device[f], attribute))
                for what, attribute in (("flash", "flash_bytes"), ("ram", "ram_bytes"),
                                        ("instructions", "instructions"))}
    assert ranking["instructions"] == measured["instructions"]
    assert ranking["ram"][-1] == measured["ram"][-1]
    same_kernels = [[f for f in order if f != "int8 cmsis-nn"] for order in
                    (ranking["flash"], measured["flash"])]
    assert same_kernels[0] == same_kernels[1]
