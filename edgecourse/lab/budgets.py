"""Model budgets: parameters, bytes per dtype, peak activation memory, device limits (lesson 01).

Flash holds the weights; SRAM holds the activations of the layer being computed. This module
counts both, and builds torchvision's reference architectures on PyTorch's ``meta`` device, so
nothing is downloaded and no weight memory is allocated.
"""

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import torch
import torchvision
from torch import nn
from torch.overrides import TorchFunctionMode
from torchvision.models import get_model, get_model_weights, list_models

from edgecourse.lab import backend  # noqa: F401  (torch and torchvision first, one thread)
from edgecourse.lab.train import check_net, eval_mode

KB = 1000
MB = 1000**2
KIB = 1024
MIB = 1024**2

DTYPE_BITS = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4}
_DTYPE_ALIASES = {"float32": "fp32", "float": "fp32", "float16": "fp16", "half": "fp16"}

# The ten networks of the seed lecture's table, in its order.
SEED_MODELS = (
    "alexnet", "vgg19", "inception_v3", "resnet18", "resnet50", "resnet101", "resnet152",
    "densenet121", "densenet169", "densenet201",
)

# Names torchvision gives the classifier head (the layers after global pooling).
HEAD_NAMES = ("fc", "classifier", "head", "heads")

# Largest input width of any torchvision classification head (regnet_y_128gf); checked by
# tests/test_budgets.py. A 10-class head saves at most 990 * (this + 1) parameters over a
# 1000-class one, which rules most architectures out from their metadata alone.
MAX_HEAD_FEATURES = 7392

# Builder arguments that make a weightless build equal the published architecture: no weight
# init on meta, inception keeps the auxiliary head its metadata counts, googlenet's published
# weights have none, and vit_h_14's weights are for 518x518 inputs (bigger position embedding).
_BUILD_KWARGS = {
    "inception_v3": {"init_weights": False, "aux_logits": True},
    "googlenet": {"init_weights": False, "aux_logits": False},
    "vit_h_14": {"image_size": 518},
}

# In-place ops that weight initialisation uses; on a meta tensor they compute nothing.
_INIT_OPS = frozenset({
    "normal_", "uniform_", "fill_", "zero_", "copy_", "erfinv_", "mul_", "add_", "sub_", "div_",
    "clamp_", "exponential_", "bernoulli_", "random_",
})


def dtype_bits(dtype: str) -> int:
    """Return the bits one number takes at ``dtype`` ('fp32', 'fp16', 'int8' or 'int4')."""
    key = _DTYPE_ALIASES.get(dtype, dtype) if isinstance(dtype, str) else dtype
    if key not in DTYPE_BITS:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(DTYPE_BITS)}")
    return DTYPE_BITS[key]


def _check_count(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must be >= 0, got {value}")


def param_bytes(num_params: int, dtype: str = "fp32") -> int:
    """Return the bytes ``num_params`` numbers take at ``dtype`` (int4 packs two per byte)."""
    _check_count(num_params, "num_params")
    # A half-filled last byte still takes a whole byte of flash.
    return math.ceil(num_params * dtype_bits(dtype) / 8)


@dataclass(frozen=True)
class DeviceBudget:
    """The memory of one microcontroller: flash for the weights, SRAM for activations."""

    name: str
    flash_bytes: int
    sram_bytes: int

    def __post_init__(self) -> None:
        _check_count(self.flash_bytes, f"{self.name}: flash_bytes")
        _check_count(self.sram_bytes, f"{self.name}: sram_bytes")

    def fits_flash(self, nbytes: int) -> bool:
        """Say whether ``nbytes`` of weights fit this flash."""
        _check_count(nbytes, "nbytes")
        return nbytes <= self.flash_bytes

    def fits_sram(self, nbytes: int) -> bool:
        """Say whether ``nbytes`` of activations fit this SRAM."""
        _check_count(nbytes, "nbytes")
        return nbytes <= self.sram_bytes


DEVICE_BUDGETS = {
    # The course's target: the MCU class of MCUNet (Lin et al. 2020) and the seed's 1 MB slide.
    "course": DeviceBudget("course", 1 * MIB, 256 * KIB),
    "stm32f412": DeviceBudget("stm32f412", 1 * MIB, 256 * KIB),
    "nrf52840": DeviceBudget("nrf52840", 1 * MIB, 256 * KIB),  # Arduino Nano 33 BLE Sense
    "stm32f746": DeviceBudget("stm32f746", 1 * MIB, 320 * KIB),
    "stm32h743": DeviceBudget("stm32h743", 2 * MIB, 1 * MIB),
}


def device_budget(name: str = "course") -> DeviceBudget:
    """Return the named device budget (see ``DEVICE_BUDGETS``)."""
    if name not in DEVICE_BUDGETS:
        raise ValueError(f"unknown device {name!r}; known devices: {sorted(DEVICE_BUDGETS)}")
    return DEVICE_BUDGETS[name]


def classifier_head(net: nn.Module) -> nn.Module:
    """Return the classifier head of ``net``: its child named fc, classifier, head or heads."""
    check_net(net)
    children = dict(net.named_children())
    for name in HEAD_NAMES:
        if name in children:
            return children[name]
    raise ValueError(
        f"{type(net).__name__} has no child named one of {HEAD_NAMES}; children: {list(children)}"
    )


def count_params(net: nn.Module, include_head: bool = True, nonzero_only: bool = False) -> int:
    """Return the number of parameters of ``net`` (not buffers): the course's one counter.

    ``include_head=False`` leaves out the classifier head (see :func:`classifier_head`);
    ``nonzero_only=True`` counts only the nonzero ones (what a pruned model still has to store).
    """
    check_net(net)
    if nonzero_only and any(p.is_meta for p in net.parameters()):
        raise ValueError("nonzero_only needs real weights; this net is on the meta device "
                         "(build it with device='cpu' and load weights first)")
    head = set() if include_head else {id(p) for p in classifier_head(net).parameters()}
    # parameters() yields a shared tensor once, as flash stores it once.
    return sum(int(torch.count_nonzero(p)) if nonzero_only else p.numel()
               for p in net.parameters() if id(p) not in head)


def count_buffers(net: nn.Module) -> int:
    """Return the number of buffer elements of ``net`` (e.g. batch-norm running statistics)."""
    check_net(net)
    return sum(b.numel() for b in net.buffers())


def count_running_stats(net: nn.Module) -> int:
    """Return the number of batch-norm running means and variances (Keras counts them as
    non-trainable parameters; PyTorch keeps them as buffers)."""
    check_net(net)
    return sum(b.numel() for name, b in net.named_buffers()
               if name.rsplit(".", 1)[-1] in ("running_mean", "running_var"))


@dataclass(frozen=True)
class LayerActivation:
    """The input and output elements one leaf layer holds while it runs."""

    name: str
    kind: str
    input_elements: int
    output_elements: int

    @property
    def elements(self) -> int:
        """Return input plus output elements: what the layer holds at once."""
        return self.input_elements + self.output_elements


def _numel(value) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel()
    if isinstance(value, list | tuple):
        return sum(_numel(v) for v in value)
    return 0


def _input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if not shape or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape):
        raise ValueError(
            f"input_shape must be positive ints for one sample, e.g. (3, 224, 224); got {input_shape!r}"
        )
    return shape


def activation_trace(net: nn.Module, input_shape: Sequence[int]) -> list[LayerActivation]:
    """Run one sample of ``input_shape`` (no batch axis) through ``net``; list each leaf layer.

    Forward hooks see every leaf module (one without children); functional ops inside
    ``forward`` (a residual ``+``, ``torch.cat``) are not modules and are not listed. The input
    lives on the net's device, so a net built on ``meta`` is traced without computing anything.
    """
    check_net(net)
    shape = _input_shape(input_shape)
    first = next(net.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    trace: list[LayerActivation] = []

    def record(name: str):
        def hook(module: nn.Module, inputs, output) -> None:
            trace.append(LayerActivation(name, type(module).__name__, _numel(inputs), _numel(output)))
        return hook

    handles = [module.register_forward_hook(record(name))
               for name, module in net.named_modules() if not any(module.children())]
    try:
        # inference: no auxiliary heads, no batch statistics
        with torch.no_grad(), eval_mode(net):
            net(torch.zeros((1, *shape), device=device))
    finally:
        for handle in handles:
            handle.remove()
    return trace


def peak_activation_bytes(net: nn.Module, input_shape: Sequence[int], dtype: str = "fp32") -> int:
    """Return the most bytes any one layer holds (its input plus its output) at ``dtype``."""
    trace = activation_trace(net, input_shape)
    if not trace:
        raise ValueError(f"{type(net).__name__} has no leaf modules to measure")
    return param_bytes(max(layer.elements for layer in trace), dtype)


class _SkipInitOnMeta(TorchFunctionMode):
    """Skip in-place initialisation on meta tensors: they hold no numbers to fill."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if (getattr(func, "__name__", "") in _INIT_OPS and args
                and isinstance(args[0], torch.Tensor) and args[0].is_meta):
            return args[0]
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def _parameters_to_meta() -> Iterator[None]:
    """Move every parameter and buffer to meta as a module registers it (for builders that
    compute their layout with tensors, such as RegNet, and so cannot run under a meta device)."""
    register_parameter, register_buffer = nn.Module.register_parameter, nn.Module.register_buffer

    def to_meta_parameter(self, name, param):
        if param is not None and not param.is_meta:
            param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register_parameter(self, name, param)

    def to_meta_buffer(self, name, tensor, persistent=True):
        register_buffer(self, name, None if tensor is None else tensor.to("meta"), persistent)

    nn.Module.register_parameter, nn.Module.register_buffer = to_meta_parameter, to_meta_buffer
    try:
        yield
    finally:
        nn.Module.register_parameter, nn.Module.register_buffer = register_parameter, register_buffer


@cache
def classification_models() -> tuple[str, ...]:
    """Return the names of torchvision's image classification architectures."""
    return tuple(list_models(module=torchvision.models))


def _check_architecture(name: str) -> None:
    if name not in classification_models():
        raise ValueError(
            f"unknown architecture {name!r}; see edgecourse.lab.budgets.classification_models()"
        )


def build_architecture(name: str, num_classes: int | None = None, device: str = "meta") -> nn.Module:
    """Build torchvision architecture ``name`` without weights, on ``device`` (meta: no memory).

    ``num_classes`` replaces the 1000-class ImageNet head (e.g. 10 for digits).
    """
    _check_architecture(name)
    kwargs = dict(_BUILD_KWARGS.get(name, {}))
    if num_classes is not None:
        _check_count(num_classes, "num_classes")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        kwargs["num_classes"] = num_classes
    if device != "meta":
        with torch.device(device):
            return get_model(name, weights=None, **kwargs)
    try:
        with torch.device("meta"), _SkipInitOnMeta():
            return get_model(name, weights=None, **kwargs)
    except NotImplementedError:
        # The builder reads numbers out of tensors it made (RegNet's block widths).
        with _parameters_to_meta(), _SkipInitOnMeta():
            return get_model(name, weights=None, **kwargs)


def default_weights(name: str):
    """Return the default ``Weights`` enum member of ``name`` (metadata only; nothing downloaded)."""
    _check_architecture(name)
    return get_model_weights(name).DEFAULT


def input_size(name: str) -> int:
    """Return the square input size the default weights of ``name`` were evaluated at."""
    return int(default_weights(name).transforms().crop_size[0])


@dataclass(frozen=True)
class ReferenceModel:
    """One torchvision architecture: counted parameters beside its published metadata."""

    name: str
    weights: str
    num_params: int  # counted on the meta-device build
    params_without_head: int
    num_buffers: int
    num_running_stats: int
    meta_num_params: int  # Weights.meta["num_params"]
    acc1: float  # ImageNet-1K top-1 (%)
    gflops: float
    file_size_mib: float  # the published checkpoint file, MiB
    input_size: int

    def nbytes(self, dtype: str = "fp32") -> int:
        """Return the bytes of all parameters at ``dtype``."""
        return param_bytes(self.num_params, dtype)


def reference_model(name: str) -> ReferenceModel:
    """Build ``name`` on meta and return its counts beside its ``Weights.meta``."""
    weights = default_weights(name)
    meta = weights.meta
    net = build_architecture(name)
    return ReferenceModel(
        name=name,
        weights=str(weights),
        num_params=count_params(net),
        params_without_head=count_params(net, include_head=False),
        num_buffers=count_buffers(net),
        num_running_stats=count_running_stats(net),
        meta_num_params=meta["num_params"],
        acc1=meta["_metrics"]["ImageNet-1K"]["acc@1"],
        gflops=meta["_ops"],
        file_size_mib=meta["_file_size"],
        input_size=input_size(name),
    )


def reference_table(names: Sequence[str] = SEED_MODELS) -> list[ReferenceModel]:
    """Return :func:`reference_model` for each of ``names`` (default: the seed's ten models)."""
    return [reference_model(name) for name in names]


def flash_candidates(flash_bytes: int, dtype: str = "int8", num_classes: int = 10) -> list[str]:
    """Return the architectures whose metadata alone cannot rule out fitting ``flash_bytes``.

    A ``num_classes`` head is at most ``(1000 - num_classes) * (MAX_HEAD_FEATURES + 1)``
    parameters smaller than the 1000-class one the metadata counts; anything bigger than the
    budget even after that saving cannot fit, and need not be built.
    """
    _check_count(flash_bytes, "flash_bytes")
    _check_count(num_classes, "num_classes")
    saving = max(0, 1000 - num_classes) * (MAX_HEAD_FEATURES + 1)
    return [name for name in classification_models()
            if param_bytes(max(0, default_weights(name).meta["num_params"] - saving), dtype)
            <= flash_bytes]
