"""The capstone's budget: the scoring rule, the limits a model misses, bad models, a measurement."""

import numpy as np
import pytest
import torch

from edgecourse.deploy import device_budget
from edgecourse.deploy.device_budget import (
    ACCURACY_FLOOR,
    BUDGET,
    Measured,
    measure,
    misses,
    points,
)

HALF_WAY = (ACCURACY_FLOOR + BUDGET.accuracy) / 2


def _measured(flash=20_000, ram=3_000, instructions=150_000, accuracy=90.0, equal=1.0):
    return Measured(flash, ram, instructions, accuracy, 100, equal)


@pytest.mark.parametrize("kwargs, expected", [
    ({}, 10.0),  # within every limit
    ({"flash": BUDGET.flash_bytes}, 10.0),  # a limit met exactly is met
    ({"flash": BUDGET.flash_bytes + 1}, 8.0),
    ({"ram": BUDGET.ram_bytes + 1, "instructions": BUDGET.instructions + 1}, 6.0),
    ({"accuracy": BUDGET.accuracy}, 10.0),
    ({"accuracy": HALF_WAY}, 8.0),  # half way from the floor to the target: 2 of 4
    ({"accuracy": ACCURACY_FLOOR + 0.926 * (BUDGET.accuracy - ACCURACY_FLOOR)}, 9.7),  # 3.704
    ({"accuracy": ACCURACY_FLOOR}, 6.0),
    ({"accuracy": 59.9}, 0.0),  # does not classify: nothing for fitting the device
    ({"equal": 0.99}, 0.0),  # firmware that differs from TFLM on a frame
])
def test_the_rule(kwargs, expected):
    assert points(_measured(**kwargs)) == expected


def test_the_rule_adds_up_to_the_points_it_states():
    assert device_budget.MAX_POINTS == 10.0
    assert "2 points each" in device_budget.RULE and "4 points" in device_budget.RULE


def test_misses_names_each_limit():
    assert misses(_measured()) == []
    over = _measured(flash=10**6, ram=10**6, instructions=10**9, accuracy=10.0)
    assert misses(over) == ["flash", "ram", "instructions", "accuracy"]
    table = device_budget.table(over)
    assert table.count("MISSED") == 4 and f"{BUDGET.instructions:,}" in table


def test_a_model_that_is_not_an_int8_frame_classifier_is_explained(tmp_path):
    from firmware_models import course_model

    with pytest.raises(ValueError, match="not a .tflite model"):
        device_budget.check_capstone_model(b"not a model")
    with pytest.raises(ValueError, match="16x16 frame"):
        device_budget.check_capstone_model(course_model())  # the 8x8 course model


def test_a_float_model_is_refused_with_what_to_do():
    from edgecourse.deploy.export import to_tflite
    from edgecourse.lab.models import SensorCNN

    torch.manual_seed(0)
    model = to_tflite(SensorCNN(0.5, 4), torch.rand(8, 1, 16, 16), "float32")
    with pytest.raises(ValueError, match="not int8.*to_tflite"):
        device_budget.check_capstone_model(model)


def test_measure_runs_the_firmware_and_counts_its_own_outputs():
    """An untrained model: the firmware equals TFLM, and accuracy is what its outputs say."""
    from edgecourse.deploy.export import to_tflite
    from edgecourse.deploy.runtimes import model_input, run_tflm
    from edgecourse.lab.models import SensorCNN

    torch.manual_seed(0)
    X = torch.rand(12, 1, 16, 16)
    model = to_tflite(SensorCNN(0.5, 4), X)
    y = np.arange(12) % 10
    got = measure(model, X, y)
    predictions = run_tflm(model, model_input(model, X)).reshape(12, -1).argmax(1)
    assert got.equal_to_tflm == 1.0 and got.frames == 12
    assert got.accuracy == round(100 * float(np.mean(predictions == y)), 2)
    assert 0 < got.instructions < BUDGET.instructions and 0 < got.ram_bytes < got.flash_bytes
    with pytest.raises(ValueError, match="one label per frame"):
        measure(model, X, y[:5])
