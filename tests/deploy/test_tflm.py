"""Does the TFLM runner run the real runtime, and is the measured arena really the smallest?"""

import numpy as np
import pytest
from firmware_models import images, maxpool_dense_model

from edgecourse.deploy import tflm_probe
from edgecourse.deploy.tflite_model import load_tflite
from edgecourse.deploy.tflm import (
    allocation_report,
    measure_arena,
    quantize_input,
    recorded_arena_bytes,
    run_tflm,
)


@pytest.fixture(scope="module")
def model():
    return maxpool_dense_model()


def test_measured_arena_is_the_smallest_that_works(model):
    measured = measure_arena(model)
    assert tflm_probe.works(model, measured.arena_bytes)
    assert not tflm_probe.works(model, measured.arena_bytes - 1)
    # The recording allocator's total is within a few alignment bytes of the bisection.
    assert abs(measured.arena_bytes - measured.recorded_bytes) <= 256
    assert "Arena allocation total" in measured.report


def test_allocation_report_is_captured_from_the_file_descriptor(model):
    report = allocation_report(model, 64 * 1024)
    assert "RecordingMicroAllocator" in report
    assert recorded_arena_bytes(report) > 0


def test_run_tflm_is_deterministic_and_softmax_sums_to_one(model):
    x = load_tflite(model).input_tensors[0]
    X = quantize_input(images((9, 9, 3), 8, seed=3), x.scale, x.zero_point)
    out = run_tflm(model, X)
    assert out.shape == (8, 3) and out.dtype == np.int8
    np.testing.assert_array_equal(out, run_tflm(model, X))
    probabilities = (out.astype(np.int32) + 128) / 256
    assert np.allclose(probabilities.sum(axis=1), 1, atol=0.02)


def test_quantize_input_rounds_half_away_from_zero():
    q = quantize_input(np.array([0.5, 1.5, -0.5, -1.5, 1000.0]), 1.0, 0)
    np.testing.assert_array_equal(q, [1, 2, -1, -2, 127])


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="overhead"):
        run_tflm(model, np.zeros((1, 9, 9, 3), np.int8), arena_bytes=100)
    with pytest.raises(TypeError, match="quantize"):
        run_tflm(model, np.zeros((1, 9, 9, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        run_tflm(model, np.zeros((1, 8, 8, 3), np.int8))
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        measure_arena(b"not a model at all")
