"""Do the three runtimes take the same inputs and agree: TFLM, TFLite, the numpy integer model?"""

from functools import cache

import flatbuffers
import numpy as np
import pytest
from firmware_models import _convert, _keras_seed, float_model, images
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from edgecourse.deploy.runtimes import (
    model_input,
    run_integer_reference,
    run_tflite,
    run_tflite_tensors,
    run_tflm,
    run_tflm_tensors,
    to_nhwc,
)
from edgecourse.deploy.tflite_model import load_tflite
from edgecourse.lab.arithmetic import quantize


def _quantize_op_model(n: int, scale: float, zero_point: int) -> bytes:
    """Return a .tflite with one QUANTIZE op: n float32 values in, n int8 values out."""
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.QUANTIZE
    code.version = 1
    x, y = schema.TensorT(), schema.TensorT()
    x.name, x.shape, x.type, x.buffer = b"x", [1, n], schema.TensorType.FLOAT32, 1
    y.name, y.shape, y.type, y.buffer = b"y", [1, n], schema.TensorType.INT8, 2
    y.quantization = schema.QuantizationParametersT()
    y.quantization.scale, y.quantization.zeroPoint = [scale], [zero_point]
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    graph = schema.SubGraphT()
    graph.tensors, graph.operators, graph.inputs, graph.outputs = [x, y], [op], [0], [1]
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [graph]
    model.buffers = [schema.BufferT() for _ in range(3)]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_input_quantizer_equals_tflm_quantize_op():
    """Does arithmetic.quantize give what TFLM's own QUANTIZE op gives, on a million inputs?"""
    rng = np.random.default_rng(0)
    n = 1 << 16
    half = np.nextafter(np.float32(0.5), np.float32(0))  # floor(x + 0.5) rounds it up to 1
    float64_misses = 0
    for trial in range(16):
        scale = float(np.float32(10 ** rng.uniform(-3, 0))) if trial else 1.0
        zero_point = int(rng.integers(-128, 128)) if trial else 0
        # Half-way points (where rounding decides), their float32 neighbours, and plain values.
        X = ((rng.integers(-140, 140, n) + np.float32(0.5)) * np.float32(scale)).astype(np.float32)
        X = np.nextafter(X, np.where(rng.random(n) < 0.5, np.inf, -np.inf).astype(np.float32))
        X[: n // 4] = rng.uniform(-150 * scale, 150 * scale, n // 4)
        # Saturating values too, but within int32 after the divide (beyond, TFLM's cast is undefined).
        X[:8] = [half, -half, 0.5, -0.5, 2.5, -2.5, 1e4, -1e4]
        tflm = run_tflm(_quantize_op_model(n, scale, zero_point), X[None])[0]
        np.testing.assert_array_equal(quantize(X, scale, zero_point), tflm,
                                      err_msg=f"scale {scale}, zero point {zero_point}")
        float64_misses += int(np.sum(quantize(X.astype(np.float64), scale, zero_point) != tflm))
    assert float64_misses > 0, "these inputs must tell a float64 divide from TFLite's float32 one"


@cache
def conv_pool_dense_model() -> bytes:
    """Return int8 .tflite: even-kernel strided SAME conv -> SAME max pool -> dense (no softmax)."""
    tf = _keras_seed(5)
    L = tf.keras.layers
    model = tf.keras.Sequential([
        L.Input((9, 9, 3), batch_size=1),
        L.Conv2D(4, 2, strides=2, padding="same", activation="relu"),
        L.MaxPooling2D(2, strides=1, padding="same"),
        L.Flatten(),
        L.Dense(6),
    ])
    return _convert(model, images((9, 9, 3), 64, seed=5))


def test_model_input_is_nhwc_and_quantized_like_tflite():
    """Do NCHW and NHWC floats become the same int8 NHWC input, and int8 input pass untouched?"""
    model = load_tflite(conv_pool_dense_model())
    x = model.input_tensors[0]
    X = images((9, 9, 3), 5, seed=1)
    q = model_input(model, X.transpose(0, 3, 1, 2))
    assert q.dtype == np.int8 and q.shape == (5, 9, 9, 3)
    np.testing.assert_array_equal(q, quantize(X, x.scale, x.zero_point))
    np.testing.assert_array_equal(model_input(model, X), q)
    np.testing.assert_array_equal(model_input(model, X.astype(np.float64)), q)  # float32 first
    np.testing.assert_array_equal(model_input(model, q), q)


def test_to_nhwc_reads_nchw_first():
    """Is a C == H == W batch read as NCHW, a non-image batch left alone, a wrong one refused?"""
    X = np.arange(2 * 3 * 3 * 3).reshape(2, 3, 3, 3)
    np.testing.assert_array_equal(to_nhwc(X, (3, 3, 3)), X.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(to_nhwc(np.ones((4, 6)), (6,)), np.ones((4, 6)))
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\) or \(N, 8, 8, 1\)"):
        to_nhwc(np.zeros((2, 1, 7, 7)), (8, 8, 1))


def test_three_runtimes_agree():
    """Does the integer model equal TFLM (double rounding) and TFLite (single rounding FC)?"""
    model = conv_pool_dense_model()
    X = images((9, 9, 3), 200, seed=6).transpose(0, 3, 1, 2)
    tflm = run_tflm(model, X)
    assert tflm.dtype == np.int8 and tflm.shape == (200, 6)
    assert len(np.unique(tflm, axis=0)) > 20, "inputs too alike to test anything"
    np.testing.assert_array_equal(run_tflm(model, model_input(model, X)), tflm)
    np.testing.assert_array_equal(run_integer_reference(model, X, "tflm"), tflm)
    tflite = run_tflite(model, X)
    np.testing.assert_array_equal(run_integer_reference(model, X, "tflite_ref"), tflite)
    assert np.abs(tflite.astype(int) - tflm).max() <= 1


def test_kept_tensors_come_back_alike_from_tflm_and_tflite():
    """Do both runtimes return {index: (N, *shape)} for kept tensors, equal for conv and pool?"""
    model = load_tflite(conv_pool_dense_model())
    keep = [model.operators[0].outputs[0], model.operators[1].outputs[0]]
    X = images((9, 9, 3), 20, seed=7)
    tflm, tflite = run_tflm_tensors(model, X, keep), run_tflite_tensors(model, X, keep)
    assert list(tflm) == list(tflite) == keep
    for i in keep:
        assert tflm[i].shape == (20, *model.tensors[i].shape[1:])
        np.testing.assert_array_equal(tflm[i], tflite[i])


def test_bad_arguments():
    """Do wrong dtypes, shapes, indices, arenas and models raise errors that say what to pass?"""
    model = conv_pool_dense_model()
    X = np.zeros((1, 9, 9, 3), np.int8)
    with pytest.raises(TypeError, match="INT8 but X holds int32"):
        run_tflm(model, X.astype(np.int32))
    with pytest.raises(ValueError, match="shape"):
        run_tflm(model, np.zeros((1, 8, 8, 3), np.int8))
    with pytest.raises(ValueError, match="empty"):
        run_tflite(model, X[:0])
    with pytest.raises(ValueError, match="overhead"):
        run_tflm(model, X, arena_bytes=100)
    with pytest.raises(ValueError, match="out of range"):
        run_tflm_tensors(model, X, [999])
    with pytest.raises(TypeError, match="bytes or a path"):
        run_tflite(1234, X)
    with pytest.raises(ValueError, match="full-int8"):
        run_integer_reference(float_model(), np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="kernels"):
        run_integer_reference(model, X, "xnnpack")
