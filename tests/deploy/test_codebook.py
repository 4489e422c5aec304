"""Does a weight-shared int8 model keep TFLite's arithmetic, and its generated C equal TFLM?"""

import copy

import numpy as np
import pytest

from edgecourse.deploy.codebook import find_codebooks, weight_tensors
from edgecourse.deploy.export import to_tflite
from edgecourse.deploy.firmware import generate_c, verify_c
from edgecourse.deploy.firmware.toolchain import require_tool
from edgecourse.deploy.runtimes import model_input
from edgecourse.deploy.tflite_model import load_tflite
from edgecourse.lab.codebooks import unpack_indices
from edgecourse.lab.data import load_digits_split
from edgecourse.lab.models import digits_cnn
from edgecourse.lab.seeding import set_seed
from edgecourse.lab.train import fit
from edgecourse.lab.weight_sharing import cluster_net

PLAN = {"features.0": 3, "features.3": 2, "classifier.1": 2, "classifier.3": 4}


@pytest.fixture(scope="module")
def models():
    set_seed(0)
    digits = load_digits_split()
    net = digits_cnn(1.0)
    fit(net, digits.train, epochs=3, progress=False)
    shared = copy.deepcopy(net)
    cluster_net(shared, PLAN)
    return (to_tflite(net, digits.train.X[:100], "int8"),
            to_tflite(shared, digits.train.X[:100], "int8", per_channel=False), digits)


def test_per_tensor_export_keeps_one_codebook_per_layer(models):
    """Does each shared layer export to at most 2**bits int8 codes, found with those bits?"""
    dense, shared, _ = models
    assert find_codebooks(dense) == {}  # ordinary int8 weights do not qualify
    found = find_codebooks(shared)
    tensors = weight_tensors(shared)
    assert set(found) == set(tensors.values())
    parsed = load_tflite(shared)
    for book, bits in zip((found[t] for t in tensors.values()), PLAN.values(), strict=True):
        assert book.bits == bits
        data = parsed.tensors[book.tensor].data
        np.testing.assert_array_equal(book.codebook[book.indices], data)
        np.testing.assert_array_equal(unpack_indices(book.packed, bits, data.size),
                                      book.indices.reshape(-1))


def test_codebook_sources_hold_indices_not_weights(models):
    """Does --codebook replace the int8 filters with packed indices and a small codebook?"""
    _, shared, _ = models
    plain, packed = generate_c(shared, "m"), generate_c(shared, "m", codebook=True)
    assert "ec_codebook.c" in packed and "ec_codebook.c" not in plain
    assert "_filter[" in plain["m.c"] and "_filter[" not in packed["m.c"]
    assert packed["m.c"].count("ec_fully_connected_codebook(") == 2
    assert packed["m.c"].count("ec_conv2d_codebook(") == 2


@pytest.mark.slow
def test_codebook_c_equals_tflm_on_host_and_cortex_m4(models):
    """Are the codebook C outputs TFLM's on every test image, with less flash than int8 C?"""
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    dense, shared, digits = models
    X = model_input(shared, digits.test.X)
    report = verify_c(shared, X, "shared", count=False, codebook=True)
    assert report.host_matches == 1.0 and report.qemu_matches == 1.0
    dense_report = verify_c(shared, X[:4], "dense", count=False)
    assert report.flash_bytes < dense_report.flash_bytes


def test_cli_builds_codebook_c_and_refuses_it_for_tflm(models, tmp_path, capsys):
    """Does `edgecourse firmware --target c --codebook --run host` build and match TFLM?"""
    from edgecourse.cli import main as cli

    _, shared, _ = models
    path = tmp_path / "shared.tflite"
    path.write_bytes(shared)
    assert cli(["firmware", str(path), "-o", str(tmp_path / "c"), "--target", "c",
                "--codebook", "--run", "host"]) == 0
    assert "100%" in capsys.readouterr().out
    assert "ec_codebook.c" in {p.name for p in (tmp_path / "c").iterdir()}
    assert cli(["firmware", str(path), "-o", str(tmp_path / "t"), "--codebook"]) == 2
    assert "--codebook is for --target c" in capsys.readouterr().err
