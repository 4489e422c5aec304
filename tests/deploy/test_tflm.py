"""Is the measured TFLM arena really the smallest, and does the probe read TFLM's own report?"""

import pytest
from firmware_models import maxpool_dense_model

from edgecourse.deploy import tflm_probe
from edgecourse.deploy.tflm import measure_arena


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
    report = tflm_probe.allocation_report(model, 64 * 1024)
    assert "RecordingMicroAllocator" in report
    assert tflm_probe.recorded_arena_bytes(report) > 0


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="overhead"):
        tflm_probe.new_interpreter(model, 100)
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        measure_arena(b"not a model at all")
