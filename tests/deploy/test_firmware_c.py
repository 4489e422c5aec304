"""Does the generated C equal TFLM bit for bit, on the host and on a Cortex-M4 under QEMU?

The models are built here from Keras layers the course never uses (depthwise conv, average pool,
strides, RELU6), so the generator is tested on graphs it was not written around.
"""


import numpy as np
import pytest
from firmware_models import (
    depthwise_avgpool_model,
    float_model,
    images,
    maxpool_dense_model,
    unsupported_op_model,
)

from edgecourse.cli import main as cli
from edgecourse.deploy.firmware import generate_c, verify_c, write_project
from edgecourse.deploy.firmware import toolchain as tc
from edgecourse.deploy.firmware.codegen_c import packed_rows
from edgecourse.deploy.runtimes import model_input
from edgecourse.lab.arithmetic import quantize_multiplier

CASES = {"depthwise_avgpool": (depthwise_avgpool_model, (10, 12, 2)),
         "maxpool_dense": (maxpool_dense_model, (9, 9, 3))}


def _inputs(model: bytes, shape, n: int, seed: int) -> np.ndarray:
    # Spread inputs over the whole int8 range, extremes included, not only typical images.
    X = model_input(model, images(shape, n, seed=seed))
    X[0] = -128
    X[1] = 127
    return X


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_c_equals_tflm_on_host(case):
    build, shape = CASES[case]
    model = build()
    report = verify_c(model, _inputs(model, shape, 200, seed=11), case, qemu=False)
    np.testing.assert_array_equal(report.host, report.tflm)
    assert report.host_matches == 1.0
    assert len(np.unique(report.tflm, axis=0)) > 20, "inputs too alike to test anything"


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_c_equals_tflm_on_cortex_m4_under_qemu(case):
    build, shape = CASES[case]
    model = build()
    report = verify_c(model, _inputs(model, shape, 6, seed=12), case, qemu=True,
                      count=(case == "maxpool_dense"))
    np.testing.assert_array_equal(report.qemu, report.tflm)
    np.testing.assert_array_equal(report.host, report.tflm)
    parts = report.image.breakdown
    assert parts["model"]["flash"] > 0 and parts["kernels"]["flash"] > 0
    assert parts["runtime libraries"]["flash"] > 0 and "test data" in parts
    assert 0 < report.flash_bytes < 64 * 1024  # the whole image, test samples left out
    assert report.arena_bytes < parts["model"]["ram"] + 16  # the arena is the model's RAM
    assert 0 < report.stack_bytes < 4096 and report.ram_bytes < 16 * 1024
    if report.instructions is not None:
        assert 10_000 < report.instructions < 5_000_000
        assert report.setup_instructions < 10  # nothing to set up: all static


def test_generated_sources_are_static_and_const(tmp_path):
    files = generate_c(depthwise_avgpool_model(), "dw")
    source = files["dw.c"]
    assert "malloc" not in source and "float" not in source
    assert "static const int8_t g_op0_filter" in source
    assert "static int32_t g_arena_words" in source
    write_project(files, tmp_path / "dw")
    tc.run_tool(["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-c", "dw.c",
             "ec_kernels.c"], tmp_path / "dw")


def test_quantize_multiplier_matches_tflm_examples():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.0) == (0, 0)
    m, shift = quantize_multiplier(0.0123)
    assert abs(m * 2.0 ** (shift - 31) - 0.0123) < 1e-9


def test_unsupported_op_names_the_op():
    with pytest.raises(ValueError, match="TANH"):
        generate_c(unsupported_op_model())


def test_float_model_is_refused():
    with pytest.raises(ValueError, match="int8 is needed"):
        generate_c(float_model())


def test_garbage_is_refused():
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        generate_c(b"\x89PNG\r\n\x1a\n not a model")


def test_missing_toolchain_says_what_to_install(tmp_path, monkeypatch):
    write_project(generate_c(maxpool_dense_model(), "m"), tmp_path / "m")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="apt-get install gcc-arm-none-eabi"):
        tc.build_cortex_m4(tmp_path / "m")
    with pytest.raises(RuntimeError, match="apt-get install qemu-system-arm"):
        tc.run_qemu(tmp_path / "m" / "missing.elf")
    with pytest.raises(RuntimeError, match="apt-get install gcc"):
        tc.build_host(tmp_path / "m")


def test_write_project_leaves_nothing_half_written(tmp_path):
    with pytest.raises(TypeError):  # the second file cannot be written: neither may the first
        write_project({"a.c": "int a;", "b.c": 123}, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def test_cli_firmware_c_target(tmp_path, capsys):
    path = tmp_path / "dw.tflite"
    path.write_bytes(depthwise_avgpool_model())
    assert cli(["firmware", str(path), "-o", str(tmp_path / "c"), "--target", "c"]) == 0
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == \
        ["dw.c", "dw.h", "ec_kernels.c", "ec_kernels.h"]
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"junk")
    capsys.readouterr()
    assert cli(["firmware", str(bad), "-o", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "not a TFLite flatbuffer" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_weight_rows_are_packed_for_sxtb16_and_interleaved_in_pairs():
    rows = np.arange(15, dtype=np.int8).reshape(3, 5)  # 3 output channels, 5 weights each
    assert packed_rows(rows).tolist() == [
        0, 2, 1, 3, 5, 7, 6, 8,  # first groups of rows 0 and 1, each stored w0 w2 w1 w3
        4, 0, 0, 0, 9, 0, 0, 0,  # their second groups, padded with zeros
        10, 12, 11, 13, 14, 0, 0, 0,  # the odd last row alone
    ]
