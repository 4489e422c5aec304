"""Do pruned layers stored as compressed sparse rows (`--sparse`) compute what TFLM computes?"""

import numpy as np
import pytest
from firmware_models import maxpool_dense_model, pruned_strided_model
from lessons import solution_constants

from edgecourse.bench.speed import pruning_rows
from edgecourse.deploy.firmware import generate_c, verify_c
from edgecourse.deploy.firmware.codegen_c import csr_bytes, csr_rows
from edgecourse.deploy.firmware.tflm_project import random_samples
from edgecourse.deploy.firmware.toolchain import require_tool
from edgecourse.deploy.tflite_model import load_tflite


def test_csr_rows_keep_each_nonzero_weight_with_its_input_offset():
    """Do values, index and count rebuild the dense rows, offsets taken from the taps?"""
    w = np.array([[0, 3, 0, -128], [0, 0, 0, 0], [5, 0, 127, 0]], dtype=np.int8)
    csr = csr_rows(w, np.array([10, 20, 30, 40]))
    assert csr["values"].tolist() == [3, -128, 5, 127]
    assert csr["index"].tolist() == [20, 40, 10, 30]
    assert csr["count"].tolist() == [2, 0, 2]
    assert csr_bytes(csr) == 3 * 4 + 2 * 3
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (6, 11)) * (rng.random((6, 11)) < 0.3)
    csr = csr_rows(w, np.arange(11))
    dense = np.zeros_like(w)
    rows = np.repeat(np.arange(6), csr["count"])
    dense[rows, csr["index"]] = csr["values"]
    np.testing.assert_array_equal(dense, w)


def test_sparse_rows_replace_the_filters_only_where_they_save_flash():
    """Does --sparse store the pruned layers as CSR, and leave dense layers (and models) dense?"""
    pruned = generate_c(pruned_strided_model(), "m", sparse=True)["m.c"]
    assert pruned.count("ec_conv2d_sparse(&") == 3
    assert pruned.count("ec_fully_connected_sparse(&") == 2
    assert "_filter[" not in pruned and "_values[" in pruned
    dense = generate_c(maxpool_dense_model(), "m", sparse=True)["m.c"]
    assert "_sparse(&" not in dense and dense == generate_c(maxpool_dense_model(), "m")["m.c"]
    with pytest.raises(ValueError, match="choose one weight format"):
        generate_c(pruned_strided_model(), "m", sparse=True, codebook=True)


@pytest.mark.slow
def test_sparse_c_equals_tflm_on_host_and_cortex_m4():
    """Are the sparse kernels' outputs TFLM's, on the host and under QEMU, with less flash?"""
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    model = load_tflite(pruned_strided_model())
    X = random_samples(model, 24, seed=3)
    sparse = verify_c(model, X, "sparse", count=False, sparse=True)
    assert sparse.host_matches == 1.0 and sparse.qemu_matches == 1.0
    dense = verify_c(model, X, "dense", count=False)
    assert dense.qemu_matches == 1.0
    assert sparse.flash_bytes < dense.flash_bytes


def test_cli_builds_sparse_c_and_refuses_it_for_tflm(tmp_path, capsys):
    """Does `edgecourse firmware --target c --sparse --run host` build and match TFLM?"""
    from edgecourse.cli import main as cli

    path = tmp_path / "pruned.tflite"
    path.write_bytes(pruned_strided_model())
    assert cli(["firmware", str(path), "-o", str(tmp_path / "c"), "--target", "c",
                "--sparse", "--run", "host"]) == 0
    assert "100%" in capsys.readouterr().out
    assert cli(["firmware", str(path), "-o", str(tmp_path / "g"), "--target", "c", "--sparse"]) == 0
    assert "5 layers as compressed sparse rows" in capsys.readouterr().out
    assert cli(["firmware", str(path), "-o", str(tmp_path / "t"), "--sparse"]) == 2
    assert "--sparse is for --target c" in capsys.readouterr().err


@pytest.mark.slow
def test_lesson_02_ranks_the_models_as_the_cortex_m4_measures_them():
    """Is the solution's PREDICTED_SPEED (the grading reference) what QEMU measures?"""
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    ns = solution_constants("02_pruning", "PREDICTED_SPEED")
    rows = dict(zip(ns["VARIANTS"], pruning_rows(), strict=True))
    measured = {what: sorted(rows, key=lambda v: rows[v][column])
                for what, column in (("flash", "flash B"), ("instructions", "instr/inference"))}
    assert ns["PREDICTED_SPEED"] == measured
