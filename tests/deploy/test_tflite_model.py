"""Does the .tflite reader see what the converter wrote (ops, shapes, quantization, weights)?"""

import numpy as np
import pytest
from firmware_models import depthwise_avgpool_model, float_model

from edgecourse.deploy.tflite_model import as_model, load_tflite, summary


def test_ops_and_graph_of_an_independent_model():
    model = load_tflite(depthwise_avgpool_model())
    assert model.ops == ["DEPTHWISE_CONV_2D", "CONV_2D", "AVERAGE_POOL_2D", "RESHAPE",
                         "FULLY_CONNECTED", "SOFTMAX"]
    assert model.is_int8
    (x,), (y,) = model.input_tensors, model.output_tensors
    assert x.shape == (1, 10, 12, 2) and x.dtype == "INT8"
    assert y.shape == (1, 5) and y.zero_point == -128 and y.scale == pytest.approx(1 / 256)
    # Operators chain: each op's activation input is the previous op's output.
    for previous, op in zip(model.operators, model.operators[1:], strict=False):
        assert op.inputs[0] == previous.outputs[0]


def test_weights_scales_and_options():
    model = load_tflite(depthwise_avgpool_model())
    dw = model.operators[0]
    assert dw.options["depthMultiplier"] == 2 and dw.options["fusedActivationFunction"] == "RELU6"
    assert dw.options["padding"] == "SAME"
    filt = model.tensors[dw.inputs[1]]
    assert filt.is_constant and filt.data.dtype == np.int8 and filt.data.shape == (1, 3, 3, 4)
    assert len(filt.scales) == 4 and all(z == 0 for z in filt.zero_points)  # per channel
    bias = model.tensors[dw.inputs[2]]
    assert bias.data.dtype == np.int32 and bias.data.shape == (4,)
    pool = model.operators[2]
    assert (pool.options["filterHeight"], pool.options["strideW"]) == (2, 2)
    assert "AVERAGE_POOL_2D" in summary(model)


def test_float_model_is_read_but_not_int8():
    model = load_tflite(float_model())
    assert model.ops == ["FULLY_CONNECTED"] and not model.is_int8
    assert model.input_tensors[0].dtype == "FLOAT32" and model.input_tensors[0].scales == ()


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        load_tflite(b"\x00garbage bytes that are not a model")
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        load_tflite(b"")
    with pytest.raises(ValueError, match="corrupted|not a TFLite"):
        load_tflite(depthwise_avgpool_model()[:200])
    with pytest.raises(TypeError, match="bytes or a path"):
        load_tflite(1234)
    with pytest.raises(FileNotFoundError):
        load_tflite(tmp_path / "missing.tflite")
    path = tmp_path / "model.tflite"
    path.write_bytes(depthwise_avgpool_model())
    assert load_tflite(path).ops == load_tflite(depthwise_avgpool_model()).ops


def test_as_model_accepts_a_parsed_model_bytes_or_a_path(tmp_path):
    model = load_tflite(depthwise_avgpool_model())
    assert as_model(model) is model
    path = tmp_path / "model.tflite"
    path.write_bytes(model.model_bytes)
    for source in (model.model_bytes, bytearray(model.model_bytes), path, str(path)):
        assert as_model(source).model_bytes == model.model_bytes
    assert summary(model.model_bytes) == summary(model)
    with pytest.raises(TypeError, match="bytes or a path"):
        as_model(None)
