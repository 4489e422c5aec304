"""Export a PyTorch DigitsCNN to Keras and to TFLite (lessons 04 and 05).

The path: torch (NCHW) -> Keras with the same weights (NHWC, static batch 1) ->
``tf.lite.TFLiteConverter`` (float32, float16, or full int8 with int8 inputs and outputs).
:mod:`edgecourse.deploy.runtimes` runs the result (TFLite, TFLM, the integer reference).
"""

import contextlib
import io
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from edgecourse.deploy.runtimes import to_nhwc
from edgecourse.lab.backend import tf as _tf
from edgecourse.lab.train import eval_mode

MODES = ("int8", "float16", "float32")
DEFAULT_INPUT_SHAPE = (1, 8, 8)  # (C, H, W) of the course's digits
# Keras must reproduce torch to float rounding; anything larger means the layers were mapped wrong.
AGREEMENT_ATOL = 1e-4


def _layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """Return the leaf layers of ``net`` in the order its forward runs them."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    leaves = [(name, m) for name, m in net.named_modules() if not list(m.children())]
    if not leaves:
        raise ValueError("net has no layers to export")
    return leaves


def _keras_conv(name: str, conv: nn.Conv2d, keras):
    if conv.groups != 1 or conv.dilation != (1, 1) or conv.padding_mode != "zeros":
        raise ValueError(
            f"layer {name!r} ({conv}): only plain convolutions export "
            "(groups=1, dilation=1, zero padding)"
        )
    kh, kw = conv.kernel_size
    if conv.padding == (0, 0):
        padding = "valid"
    elif conv.stride == (1, 1) and kh == kw and kh % 2 == 1 and conv.padding == (kh // 2, kw // 2):
        padding = "same"
    else:
        raise ValueError(
            f"layer {name!r} ({conv}): padding must be 0 or k//2 with stride 1 to map onto "
            "TFLite's VALID/SAME"
        )
    layer = keras.layers.Conv2D(
        conv.out_channels, (kh, kw), strides=conv.stride, padding=padding,
        use_bias=conv.bias is not None, name=name.replace(".", "_"),
    )
    # torch OIHW -> Keras HWIO
    weights = [conv.weight.detach().numpy().transpose(2, 3, 1, 0)]
    if conv.bias is not None:
        weights.append(conv.bias.detach().numpy())
    return layer, weights


def _keras_pool(name: str, pool: nn.MaxPool2d | nn.AvgPool2d, keras):
    k = pool.kernel_size if isinstance(pool.kernel_size, tuple) else (pool.kernel_size,) * 2
    s = pool.stride if isinstance(pool.stride, tuple) else (pool.stride,) * 2
    if pool.padding not in (0, (0, 0)) or getattr(pool, "dilation", 1) not in (1, (1, 1)) \
            or pool.ceil_mode:
        raise ValueError(f"layer {name!r} ({pool}): only unpadded, undilated pooling exports")
    if isinstance(pool, nn.AvgPool2d):
        return keras.layers.AveragePooling2D(k, strides=s, padding="valid",
                                             name=name.replace(".", "_"))
    return keras.layers.MaxPooling2D(k, strides=s, padding="valid", name=name.replace(".", "_"))


def to_keras(net: nn.Module, input_shape: tuple[int, int, int] = DEFAULT_INPUT_SHAPE):
    """Build a Keras model (NHWC, batch 1) with the same weights and logits as ``net``.

    ``net`` must run its leaf layers in order (DigitsCNN, SensorCNN, nn.Sequential): Conv2d,
    ReLU, MaxPool2d, AvgPool2d, Flatten, Linear, Dropout/Identity. ``input_shape`` is (C, H, W) as in torch.
    """
    keras = _tf().keras
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {input_shape}")
    c, h, w = input_shape
    inputs = keras.Input(shape=(h, w, c), batch_size=1, name="input")
    x = inputs
    chw = (c, h, w)  # torch's view of the current activation, to reorder the first dense layer
    flat_from: tuple[int, int, int] | None = None
    pending: list[tuple[object, list[np.ndarray]]] = []
    layers = _layers(net)
    for name, m in layers:
        if isinstance(m, nn.Conv2d):
            if m.in_channels != chw[0] or flat_from is not None:
                raise ValueError(f"layer {name!r} expects {m.in_channels} channels, gets {chw}")
            layer, weights = _keras_conv(name, m, keras)
            x = layer(x)
            pending.append((layer, weights))
            chw = (m.out_channels, int(x.shape[1]), int(x.shape[2]))
        elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            x = _keras_pool(name, m, keras)(x)
            chw = (chw[0], int(x.shape[1]), int(x.shape[2]))
        elif isinstance(m, nn.ReLU):
            x = keras.layers.ReLU(name=name.replace(".", "_"))(x)
        elif isinstance(m, nn.Flatten):
            if (m.start_dim, m.end_dim) != (1, -1):
                raise ValueError(f"layer {name!r} ({m}): only Flatten(1, -1) exports")
            flat_from = chw
            x = keras.layers.Flatten(name=name.replace(".", "_"))(x)
        elif isinstance(m, nn.Linear):
            weight = m.weight.detach().numpy()  # (out, in) with `in` in torch's flatten order
            if flat_from is not None and len(x.shape) == 2 and flat_from[1] * flat_from[2] > 1:
                # torch flattened C,H,W; Keras flattens H,W,C: permute the input columns to match.
                cc, hh, ww = flat_from
                weight = to_nhwc(weight.reshape(-1, cc, hh, ww), (hh, ww, cc)).reshape(m.out_features, -1)
            if int(x.shape[-1]) != m.in_features:
                raise ValueError(f"layer {name!r} expects {m.in_features} inputs, gets {x.shape[-1]}")
            layer = keras.layers.Dense(m.out_features, use_bias=m.bias is not None,
                                       name=name.replace(".", "_"))
            x = layer(x)
            weights = [weight.T]
            if m.bias is not None:
                weights.append(m.bias.detach().numpy())
            pending.append((layer, weights))
            flat_from = None
        elif isinstance(m, nn.Dropout | nn.Identity):
            continue  # inference: both are the identity
        else:
            raise ValueError(
                f"layer {name!r} ({type(m).__name__}) has no TFLite mapping here; supported: "
                "Conv2d, ReLU, MaxPool2d, AvgPool2d, Flatten, Linear, Dropout, Identity"
            )
    model = keras.Model(inputs, x, name=type(net).__name__)
    for layer, weights in pending:
        layer.set_weights(weights)
    _check_agreement(net, model, input_shape)
    return model


def _check_agreement(net: nn.Module, model, input_shape: tuple[int, int, int]) -> None:
    """Raise if the Keras model's logits differ from ``net``'s (forward is not its layer order)."""
    X = torch.from_numpy(np.random.default_rng(0).random((1, *input_shape), dtype=np.float32))
    with eval_mode(net), torch.no_grad():
        expected = net(X).numpy()
    got = np.asarray(model(to_nhwc(X, model.input.shape[1:]), training=False))
    if got.shape != expected.shape or not np.allclose(got, expected, atol=AGREEMENT_ATOL, rtol=1e-4):
        raise ValueError(
            f"the Keras model of {type(net).__name__} does not reproduce its logits: export needs a "
            "net whose forward runs its layers in registration order"
        )


def _representative(X: np.ndarray) -> Iterator[list[np.ndarray]]:
    for x in X:
        yield [x[None]]


def to_tflite(net: nn.Module, calibration_X: torch.Tensor, mode: str = "int8",
              per_channel: bool = True) -> bytes:
    """Convert ``net`` to a .tflite flatbuffer: "int8" (full integer), "float16" or "float32".

    ``calibration_X`` (N, C, H, W) is the representative dataset the converter uses to choose
    activation scales in int8 mode (the float modes ignore it). ``per_channel=False`` gives
    every int8 weight tensor one scale (lesson 06: shared weights keep one int8 codebook).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(calibration_X, torch.Tensor | np.ndarray):
        raise TypeError(f"calibration_X must be a torch.Tensor, got {type(calibration_X).__name__}")
    shape = tuple(calibration_X.shape)
    if len(shape) != 4 or shape[0] < 1:
        raise ValueError(f"calibration_X must be a non-empty batch (N, C, H, W), got {shape}")
    tf = _tf()
    model = to_keras(net, shape[1:])
    X = to_nhwc(calibration_X, model.input.shape[1:]).astype(np.float32)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: _representative(X)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        converter._experimental_disable_per_channel = not per_channel
    # The converter prints its temporary SavedModel's signature and logs its assets: keep
    # notebooks quiet.
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return bytes(converter.convert())
    finally:
        logger.setLevel(level)
