"""Does the export path keep the model's numbers: torch -> Keras -> TFLite -> integer reference?"""

from functools import lru_cache

import numpy as np
import pytest
import torch
from torch import nn

import edgecourse  # noqa: F401  (torch before tensorflow)
from edgecourse.deploy import export
from edgecourse.deploy.runtimes import (
    model_input,
    run_integer_reference,
    run_tflite,
    run_tflm,
    to_nhwc,
)
from edgecourse.deploy.tflite_model import load_tflite
from edgecourse.lab.data import load_digits_split
from edgecourse.lab.models import digits_cnn
from edgecourse.lab.recipes import distilled_student
from edgecourse.lab.train import evaluate, predict

pytestmark = pytest.mark.slow


@lru_cache(maxsize=1)
def _student_int8() -> tuple[nn.Module, bytes]:
    net = distilled_student()
    return net, export.to_tflite(net, load_digits_split().train.X[:200], "int8")


def _accuracy(outputs: np.ndarray, y: torch.Tensor) -> float:
    return 100.0 * float((outputs.argmax(1) == y.numpy()).mean())


def test_keras_logits_equal_torch_logits():
    """Does the Keras model give the PyTorch logits (NHWC layout, flatten order) on every image?"""
    torch.manual_seed(3)
    net = digits_cnn(2.0)  # untrained: every weight position matters, nothing is symmetric
    X = load_digits_split().test.X
    model = export.to_keras(net)
    assert tuple(model.input.shape) == (1, 8, 8, 1)
    keras_logits = np.concatenate([np.asarray(model(to_nhwc(x[None], (8, 8, 1))))
                                   for x in X[:50]])
    np.testing.assert_allclose(keras_logits, predict(net, X[:50]).numpy(), atol=1e-5, rtol=1e-5)


def test_int8_accuracy_within_one_point_of_fp32():
    """Is the int8 TFLite model, in BUILTIN_REF kernels, within 1 point of fp32 on the test split?"""
    net, model_bytes = _student_int8()
    test = load_digits_split().test
    outputs = run_tflite(model_bytes, test.X)
    assert outputs.dtype == np.int8 and outputs.shape == (len(test), 10)
    assert abs(_accuracy(outputs, test.y) - evaluate(net, test)) <= 1.0
    parsed = load_tflite(model_bytes)
    assert parsed.is_int8
    assert set(parsed.ops) == {"CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED"}


def test_float_variants_and_sizes():
    """Do float32/float16 exports reproduce the logits, with int8 < fp16 < fp32 in bytes?"""
    net, int8_bytes = _student_int8()
    test = load_digits_split().test
    fp32 = export.to_tflite(net, test.X[:10], "float32")
    fp16 = export.to_tflite(net, test.X[:10], "float16")
    logits = predict(net, test.X).numpy()
    np.testing.assert_allclose(run_tflite(fp32, test.X), logits, atol=1e-4)
    assert np.abs(run_tflite(fp16, test.X) - logits).max() < 0.1
    assert len(int8_bytes) < len(fp16) < len(fp32)


def test_integer_reference_equals_tflite_and_tflm_on_every_test_image():
    """Does the numpy integer model equal BUILTIN_REF and the TFLM runtime on 100% of images?"""
    _, model_bytes = _student_int8()
    X = load_digits_split().test.X
    tflite = run_tflite(model_bytes, X)
    np.testing.assert_array_equal(run_integer_reference(model_bytes, X, "tflite_ref"), tflite)
    np.testing.assert_array_equal(run_integer_reference(model_bytes, X, "tflm"),
                                  run_tflm(model_bytes, X))
    # pre-quantized NHWC input gives the same result as float NCHW
    np.testing.assert_array_equal(run_tflite(model_bytes, model_input(model_bytes, X)), tflite)


def test_unsupported_layers_are_named():
    """Does export refuse a layer it cannot map, naming it?"""
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.Flatten(),
                        nn.Linear(128, 10))
    with pytest.raises(ValueError, match=r"'1'.*BatchNorm2d"):
        export.to_keras(net)
    strided = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.Flatten(), nn.Linear(32, 2))
    with pytest.raises(ValueError, match="padding"):
        export.to_keras(strided)


def test_forward_that_is_not_the_layer_order_is_refused():
    """Does export notice a net whose forward does not run its layers in order?"""

    class Skips(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 10)
            self.fc2 = nn.Linear(10, 10)

        def forward(self, X):
            return self.fc1(X.flatten(1))  # fc2 never runs

    net = nn.Sequential(nn.Flatten(), Skips())
    with pytest.raises(ValueError, match="logits"):
        export.to_keras(net)


def test_bad_arguments():
    """Do bad modes, calibration data and model bytes raise clear errors?"""
    net = digits_cnn(0.5)
    X = load_digits_split().test.X[:4]
    with pytest.raises(ValueError, match="mode"):
        export.to_tflite(net, X, "int4")
    with pytest.raises(TypeError, match="calibration_X"):
        export.to_tflite(net, [[0.0]])
    with pytest.raises(ValueError, match="calibration_X"):
        export.to_tflite(net, X[0])
    with pytest.raises(TypeError, match="bytes or a path"):
        run_tflite(1234, X)
    _, model_bytes = _student_int8()
    with pytest.raises(ValueError, match="shape"):
        run_tflite(model_bytes, torch.zeros(2, 1, 7, 7))
    with pytest.raises(ValueError, match="kernels"):
        run_integer_reference(model_bytes, X, "xnnpack")
