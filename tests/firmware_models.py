"""Small int8 .tflite models built inside the tests, independent of the course's models.

They use other ops and shapes than the course CNN (depthwise conv, average pool, strides, RELU6,
non-square inputs, several channels) so the firmware tools are tested on models they never saw;
``course_model()`` is the one lesson 05 deploys.
"""

from functools import cache

import numpy as np

from edgecourse.lab.backend import tf as tensorflow


def _convert(model, X: np.ndarray, int8_io: bool = True) -> bytes:
    tf = tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def representative():
        for x in X[:64]:
            yield [x[None].astype(np.float32)]

    converter.representative_dataset = representative
    if int8_io:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def images(shape: tuple[int, ...], n: int, seed: int = 0) -> np.ndarray:
    """Return n seeded float images in [0, 1) of the given HWC shape (smooth, not pure noise)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, *shape), dtype=np.float32)
    return (0.5 * X + 0.5 * np.roll(X, 1, axis=1)).astype(np.float32)


def _keras_seed(seed: int):
    tf = tensorflow()
    tf.keras.utils.set_random_seed(seed)
    return tf


@cache
def depthwise_avgpool_model() -> bytes:
    """Return int8 .tflite: depthwise conv (x2, RELU6) -> strided conv -> avg pool -> dense."""
    tf = _keras_seed(1)
    L = tf.keras.layers
    model = tf.keras.Sequential([
        L.Input((10, 12, 2), batch_size=1),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu6"),
        L.Conv2D(6, 3, strides=2, padding="valid", activation="relu"),
        L.AveragePooling2D(2, padding="same"),
        L.Flatten(),
        L.Dense(5),
        L.Softmax(),
    ])
    return _convert(model, images((10, 12, 2), 64, seed=1))


@cache
def maxpool_dense_model() -> bytes:
    """Return int8 .tflite: conv (same) -> max pool (stride 2) -> dense relu -> dense -> softmax."""
    tf = _keras_seed(2)
    L = tf.keras.layers
    model = tf.keras.Sequential([
        L.Input((9, 9, 3), batch_size=1),
        L.Conv2D(4, 2, padding="same", activation="relu"),
        L.MaxPooling2D(3, strides=2, padding="valid"),
        L.Flatten(),
        L.Dense(7, activation="relu"),
        L.Dense(3),
        L.Softmax(),
    ])
    return _convert(model, images((9, 9, 3), 64, seed=2))


@cache
def pruned_strided_model() -> bytes:
    """Return int8 .tflite: strided, dilated and padded convs and dense layers, 85% zeros."""
    tf = _keras_seed(5)
    L = tf.keras.layers
    model = tf.keras.Sequential([
        L.Input((11, 9, 3), batch_size=1),
        L.Conv2D(6, 3, strides=2, padding="same", activation="relu"),
        L.Conv2D(5, 3, dilation_rate=2, padding="same", activation="relu6"),
        L.Conv2D(7, (2, 3), padding="valid"),
        L.Flatten(),
        L.Dense(9, activation="relu"),
        L.Dense(4),
    ])
    for layer in model.layers:  # magnitude pruning: zero the 85% smallest weights per kernel
        if not layer.get_weights():
            continue
        kernel, bias = layer.get_weights()
        kernel[np.abs(kernel) < np.quantile(np.abs(kernel), 0.85)] = 0.0
        layer.set_weights([kernel, bias])
    return _convert(model, images((11, 9, 3), 64, seed=5))


@cache
def float_model() -> bytes:
    """Return a float32 .tflite (no quantization): the firmware tools must refuse it."""
    tf = _keras_seed(3)
    L = tf.keras.layers
    model = tf.keras.Sequential([L.Input((4,), batch_size=1), L.Dense(2)])
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


@cache
def mixed_io_model() -> bytes:
    """Return a .tflite with an int8 input and a float32 output: the TFLM firmware refuses it."""
    tf = _keras_seed(6)
    L = tf.keras.layers
    model = tf.keras.Sequential([L.Input((4,), batch_size=1), L.Dense(3)])
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None]] for x in images((4,), 16, seed=6))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    return converter.convert()


@cache
def unsupported_op_model() -> bytes:
    """Return int8 .tflite with an op the C generator does not support (TANH)."""
    tf = _keras_seed(4)
    L = tf.keras.layers
    model = tf.keras.Sequential([L.Input((6,), batch_size=1), L.Dense(4), L.Activation("tanh")])
    return _convert(model, images((6,), 64, seed=4))


@cache
def course_model() -> bytes:
    """Return the course's int8 .tflite: lesson 03's distilled student, quantized (lesson 04)."""
    from edgecourse.deploy.export import to_tflite
    from edgecourse.lab.data import load_digits_split
    from edgecourse.lab.recipes import distilled_student

    return to_tflite(distilled_student(), load_digits_split().train.X[:200], "int8")


@cache
def course_model_float32() -> bytes:
    """Return lesson 04's float32 .tflite of the distilled student (the FPU comparison)."""
    from edgecourse.deploy.export import to_tflite
    from edgecourse.lab.data import load_digits_split
    from edgecourse.lab.recipes import distilled_student

    return to_tflite(distilled_student(), load_digits_split().train.X[:200], "float32")


def course_images(n: int) -> np.ndarray:
    """Return the first n test-split digits as float NCHW images (1, 8, 8)."""
    from edgecourse.lab.data import load_digits_split

    return load_digits_split().test.X[:n].numpy()
