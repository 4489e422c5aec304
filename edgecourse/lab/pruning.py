"""Magnitude and channel pruning, masks kept through training, sparse encodings (lesson 02).

Later lessons reuse: :func:`global_masks` / :func:`apply_masks` / :func:`mask_after_step` (keep a
pruned model pruned while it trains), :func:`sparse_sizes` (what the zeros are worth in bytes),
:func:`count_macs` and :func:`pruned_course_model` (the course CNN pruned to >= 80% sparsity).

Conventions: a mask has the weight's shape and dtype, 1 keeps a weight, 0 prunes it. Only the
weights of ``Conv2d`` and ``Linear`` layers are pruned; biases are few and every output needs one.
"""

import copy
import gzip
import io
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from edgecourse.lab.budgets import activation_trace
from edgecourse.lab.data import Split
from edgecourse.lab.models import DigitsCNN
from edgecourse.lab.train import check_net, fit

Masks = dict[str, torch.Tensor]

# The recipe behind pruned_course_model: global magnitude pruning in steps, fine-tuning after each.
PRUNE_SCHEDULE = (0.5, 0.7, 0.82)
PRUNE_EPOCHS = 3
PRUNE_LR = 2e-3


def check_sparsity(sparsity: float, what: str = "sparsity") -> float:
    """Return ``sparsity`` as a float, or raise if it is not a fraction in [0, 1)."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real):
        raise TypeError(f"{what} must be a number in [0, 1), got {type(sparsity).__name__}")
    if not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(
            f"{what} must be in [0, 1) (the fraction of weights to zero; 1 would remove all), "
            f"got {sparsity}"
        )
    return float(sparsity)


def _check_tensor(weight, what: str = "weight") -> torch.Tensor:
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(weight).__name__}")
    if weight.numel() == 0:
        raise ValueError(f"{what} is empty: nothing to prune")
    return weight


def num_to_prune(sparsity: float, numel: int) -> int:
    """Return how many of ``numel`` weights a ``sparsity`` prunes: round(sparsity * numel)."""
    # Python's round (half to even), exactly as torch.nn.utils.prune counts.
    return round(check_sparsity(sparsity) * numel)


def _mask_from_scores(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Zero the ``k`` smallest scores; among equal scores the lower flat index goes first."""
    mask = torch.ones_like(scores)
    if k:
        order = torch.argsort(scores.flatten(), stable=True)
        mask.view(-1)[order[:k]] = 0
    return mask


def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Return the mask that zeros the round(sparsity * numel) smallest-magnitude weights."""
    weight = _check_tensor(weight)
    k = num_to_prune(sparsity, weight.numel())
    return _mask_from_scores(weight.detach().abs().contiguous(), k)


def prunable_weights(net: nn.Module) -> dict[str, nn.Parameter]:
    """Return the weights pruning acts on: each Conv2d's and Linear's ``weight``, by name."""
    check_net(net)
    weights = {}
    for module_name, module in net.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            weights[f"{module_name}.weight" if module_name else "weight"] = module.weight
    if not weights:
        raise ValueError("net has no Conv2d or Linear layer to prune")
    return weights


def layer_masks(net: nn.Module, sparsity: float | Mapping[str, float]) -> Masks:
    """Return one mask per prunable weight, each with its own threshold (per-layer pruning).

    ``sparsity`` is one fraction for every layer or a mapping ``{weight name: fraction}``; weights
    it does not name stay dense.
    """
    weights = prunable_weights(net)
    if isinstance(sparsity, Mapping):
        unknown = sorted(set(sparsity) - set(weights))
        if unknown:
            raise ValueError(f"unknown weight name(s) {unknown}; prunable weights: {list(weights)}")
        per_layer = {name: sparsity.get(name, 0.0) for name in weights}
    else:
        per_layer = dict.fromkeys(weights, sparsity)
    return {name: magnitude_mask(w, per_layer[name]) for name, w in weights.items()}


def global_masks(net: nn.Module, sparsity: float) -> Masks:
    """Return masks from one magnitude threshold shared by all prunable weights (global pruning)."""
    weights = prunable_weights(net)
    scores = torch.cat([w.detach().abs().flatten() for w in weights.values()])
    flat = _mask_from_scores(scores, num_to_prune(sparsity, scores.numel()))
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = flat[start:start + w.numel()].view_as(w).clone()
        start += w.numel()
    return masks


def _check_masks(net: nn.Module, masks: Mapping[str, torch.Tensor]) -> dict[str, nn.Parameter]:
    params = dict(net.named_parameters())
    for name, mask in masks.items():
        if name not in params:
            raise ValueError(f"mask for {name!r}, which net does not have; its parameters: {list(params)}")
        if mask.shape != params[name].shape:
            raise ValueError(f"mask for {name} has shape {tuple(mask.shape)}, the weight {tuple(params[name].shape)}")
    return params


@torch.no_grad()
def apply_masks(net: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """Multiply each named parameter of ``net`` by its mask, in place; return ``net``."""
    params = _check_masks(net, masks)
    for name, mask in masks.items():
        params[name].mul_(mask.to(params[name].dtype))
    return net


def mask_after_step(masks: Mapping[str, torch.Tensor]) -> Callable[[nn.Module], None]:
    """Return an ``after_step`` for :func:`edgecourse.lab.train.fit` that re-applies ``masks``.

    The optimizer moves pruned weights away from zero (Adam's momentum does even with a zero
    gradient), so the masks go back on after every step.
    """
    frozen = {name: mask.detach().clone() for name, mask in masks.items()}

    def after_step(net: nn.Module) -> None:
        apply_masks(net, frozen)

    return after_step


def tensor_sparsity(weight: torch.Tensor) -> float:
    """Return the fraction of entries of ``weight`` that are exactly zero."""
    weight = _check_tensor(weight)
    return 1.0 - torch.count_nonzero(weight).item() / weight.numel()


def weight_sparsity(net: nn.Module) -> float:
    """Return the fraction of zeros over all prunable weights of ``net`` (biases excluded)."""
    weights = prunable_weights(net).values()
    zeros = sum(w.numel() - torch.count_nonzero(w).item() for w in weights)
    return zeros / sum(w.numel() for w in weights)


def count_macs(
    net: nn.Module, input_shape: tuple[int, ...] = (1, 1, 8, 8), nonzero_only: bool = False,
) -> int:
    """Return the multiply-accumulates of one forward pass of one input through Conv2d/Linear.

    Each weight is used once per output position, so MACs = sum(weights * output positions);
    ``nonzero_only`` counts only the nonzero weights (what a sparse kernel could skip).
    """
    if len(input_shape) < 2 or input_shape[0] != 1:
        raise ValueError(f"input_shape must describe one input (batch 1), got {input_shape}")
    modules = dict(check_net(net).named_modules())
    macs = 0
    for layer in activation_trace(net, input_shape[1:]):
        module = modules[layer.name]
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            weight = module.weight
            n_weights = int(torch.count_nonzero(weight)) if nonzero_only else weight.numel()
            # one output value per output channel and position
            macs += n_weights * (layer.output_elements // weight.shape[0])
    return macs


# --- structured (channel) pruning -------------------------------------------------------------

def channel_norms(weight: torch.Tensor, n: float = 2) -> torch.Tensor:
    """Return the L``n`` norm of each output channel (dim 0) of a Conv2d or Linear weight."""
    weight = _check_tensor(weight)
    if weight.dim() not in (2, 4):
        raise ValueError(
            f"channel pruning needs a Linear (2-D) or Conv2d (4-D) weight, got a {weight.dim()}-D "
            f"tensor of shape {tuple(weight.shape)}; biases (1-D) have no channels to rank"
        )
    return torch.linalg.vector_norm(weight.detach().flatten(1), ord=n, dim=1)


def keep_channels(weight: torch.Tensor, amount: float, n: float = 2) -> torch.Tensor:
    """Return the sorted indices of the output channels to keep after dropping the weakest.

    Drops round(amount * channels) channels with the smallest L``n`` norm (ties: lower index first).
    """
    norms = channel_norms(weight, n)
    drop = round(check_sparsity(amount, "amount") * len(norms))
    if drop >= len(norms):
        raise ValueError(f"amount {amount} would remove all {len(norms)} channels; keep at least one")
    order = torch.argsort(norms, stable=True)
    return torch.sort(order[drop:]).values


def prune_channels(
    net: DigitsCNN, amount: float, n: float = 2, hidden_amount: float = 0.0,
) -> DigitsCNN:
    """Return a physically smaller DigitsCNN without the weakest conv channels (and hidden units).

    Each conv drops round(amount * channels) output channels by L``n`` norm; the next layer loses
    the matching inputs (conv2's input channels, fc1's columns of those feature maps). With
    ``hidden_amount`` fc1 drops hidden units too, and fc2 the matching columns. ``net`` is unchanged.
    """
    if not isinstance(net, DigitsCNN):
        raise TypeError(f"prune_channels rebuilds a DigitsCNN, got {type(net).__name__}")
    conv1, conv2 = net.features[0], net.features[3]
    fc1, fc2 = net.classifier[1], net.classifier[3]
    keep1 = keep_channels(conv1.weight, amount, n)
    keep2 = keep_channels(conv2.weight, amount, n)
    keep_h = keep_channels(fc1.weight, hidden_amount, n)
    # flatten order is (channel, row, col): channel c owns fc1 columns c*P .. c*P + P - 1
    positions = fc1.in_features // conv2.out_channels
    columns = (keep2[:, None] * positions + torch.arange(positions)).flatten()
    small = DigitsCNN((len(keep1), len(keep2)), len(keep_h), net.num_classes, net.input_size)
    s_conv1, s_conv2 = small.features[0], small.features[3]
    s_fc1, s_fc2 = small.classifier[1], small.classifier[3]
    with torch.no_grad():
        s_conv1.weight.copy_(conv1.weight[keep1])
        s_conv1.bias.copy_(conv1.bias[keep1])
        s_conv2.weight.copy_(conv2.weight[keep2][:, keep1])
        s_conv2.bias.copy_(conv2.bias[keep2])
        s_fc1.weight.copy_(fc1.weight[keep_h][:, columns])
        s_fc1.bias.copy_(fc1.bias[keep_h])
        s_fc2.weight.copy_(fc2.weight[:, keep_h])
        s_fc2.bias.copy_(fc2.bias)
    small.train(net.training)
    return small


# --- sparse encodings and their bytes --------------------------------------------------------

def _index_dtype(largest: int) -> np.dtype:
    """Return the smallest unsigned integer type that holds 0..largest."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if largest <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def _float32(weight: torch.Tensor) -> np.ndarray:
    return _check_tensor(weight).detach().cpu().to(torch.float32).numpy().reshape(-1)


def dense_bytes(weight: torch.Tensor) -> bytes:
    """Return the float32 bytes of ``weight`` as stored densely (zeros included)."""
    return _float32(weight).tobytes()


def bitmask_encode(weight: torch.Tensor) -> tuple[bytes, bytes]:
    """Encode ``weight`` as (one bit per weight, 1 = nonzero, MSB first; float32 nonzero values)."""
    flat = _float32(weight)
    nonzero = flat != 0
    return np.packbits(nonzero).tobytes(), flat[nonzero].tobytes()


def bitmask_decode(bits: bytes, values: bytes, shape: tuple[int, ...]) -> torch.Tensor:
    """Rebuild the dense float32 tensor of ``shape`` from :func:`bitmask_encode`'s output."""
    numel = int(np.prod(shape))
    if len(bits) != (numel + 7) // 8:
        raise ValueError(f"{len(bits)} mask bytes do not fit a tensor of {numel} weights")
    nonzero = np.unpackbits(np.frombuffer(bits, np.uint8), count=numel).astype(bool)
    vals = np.frombuffer(values, np.float32)
    if len(vals) != nonzero.sum():
        raise ValueError(f"the mask marks {nonzero.sum()} nonzero weights but {len(vals)} values came")
    flat = np.zeros(numel, np.float32)
    flat[nonzero] = vals
    return torch.from_numpy(flat.reshape(shape))


@dataclass(frozen=True)
class CSR:
    """Compressed sparse rows of a weight seen as (output channels, inputs): three arrays."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    shape: tuple[int, ...]

    def to_bytes(self) -> bytes:
        """Return the three arrays back to back, as a firmware would store them."""
        return self.indptr.tobytes() + self.indices.tobytes() + self.values.tobytes()

    @property
    def nbytes(self) -> int:
        """Return the bytes the encoding takes."""
        return self.indptr.nbytes + self.indices.nbytes + self.values.nbytes


def csr_encode(weight: torch.Tensor) -> CSR:
    """Encode ``weight`` (rows = output channels) as CSR with the narrowest index types."""
    weight = _check_tensor(weight)
    if weight.dim() < 2:
        raise ValueError(f"CSR needs a weight with rows (2-D or more), got shape {tuple(weight.shape)}")
    matrix = _float32(weight).reshape(weight.shape[0], -1)
    rows, cols = np.nonzero(matrix)
    counts = np.bincount(rows, minlength=matrix.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return CSR(indptr.astype(_index_dtype(len(rows))), cols.astype(_index_dtype(matrix.shape[1] - 1)),
               matrix[rows, cols].astype(np.float32), tuple(weight.shape))


def gzip_size(data: bytes) -> int:
    """Return the length of ``data`` gzip-compressed (level 9, no timestamp: deterministic)."""
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def sparse_sizes(net: nn.Module) -> dict[str, int]:
    """Return the bytes of the prunable weights stored dense, as bitmask and as CSR, each gzip'd too.

    Biases are left out (every encoding would store them densely).
    """
    weights = list(prunable_weights(net).values())
    dense = b"".join(dense_bytes(w) for w in weights)
    bitmask = b"".join(b"".join(bitmask_encode(w)) for w in weights)
    csr = b"".join(csr_encode(w).to_bytes() for w in weights)
    return {
        "dense": len(dense), "bitmask": len(bitmask), "csr": len(csr),
        "dense_gzip": gzip_size(dense), "bitmask_gzip": gzip_size(bitmask), "csr_gzip": gzip_size(csr),
    }


def state_dict_bytes(net: nn.Module) -> int:
    """Return the size of ``torch.save(net.state_dict())``: the model file as usually shipped."""
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    return buffer.getbuffer().nbytes


# --- iterative pruning and the course's pruned model ----------------------------------------

def iterative_prune(
    net: nn.Module,
    data: Split,
    schedule: tuple[float, ...] = PRUNE_SCHEDULE,
    epochs: int = PRUNE_EPOCHS,
    lr: float = PRUNE_LR,
    seed: int = 0,
    progress: bool = True,
    on_step: Callable[[float, nn.Module], None] | None = None,
) -> Masks:
    """Prune ``net`` globally to each sparsity of ``schedule`` in turn, fine-tuning in between.

    The masks are re-applied after every optimizer step, so the sparsity holds. ``on_step(sparsity,
    net)`` runs after each fine-tune (to record a curve). Returns the last masks.
    """
    if not schedule:
        raise ValueError("schedule is empty: give the sparsities to reach, e.g. (0.5, 0.7, 0.8)")
    for sparsity in schedule:
        check_sparsity(sparsity)
    if list(schedule) != sorted(schedule):
        raise ValueError(f"schedule must not decrease (pruned weights stay pruned), got {schedule}")
    masks: Masks = {}
    for sparsity in schedule:
        masks = global_masks(net, sparsity)
        apply_masks(net, masks)
        fit(net, data, epochs=epochs, lr=lr, seed=seed, after_step=mask_after_step(masks),
            progress=progress, desc=f"fine-tune at {sparsity:.0%}")
        if on_step is not None:
            on_step(sparsity, net)
    return masks


@lru_cache(maxsize=4)
def _pruned(seed: int) -> DigitsCNN:
    from edgecourse.lab.data import load_digits_split
    from edgecourse.lab.recipes import course_model

    net = course_model(seed)
    iterative_prune(net, load_digits_split().train, seed=seed)
    return net


def pruned_course_model(seed: int = 0) -> DigitsCNN:
    """Return the course CNN iteratively pruned to 82% weight sparsity and fine-tuned (lesson 02)."""
    return copy.deepcopy(_pruned(seed))


def channel_pruned_course_model(seed: int = 0) -> DigitsCNN:
    """Return the course CNN without half of each conv's channels, fine-tuned (lesson 02)."""
    from edgecourse.lab.data import load_digits_split
    from edgecourse.lab.recipes import course_model

    narrow = prune_channels(course_model(seed), 0.5)
    fit(narrow, load_digits_split().train, epochs=4, lr=2e-3, seed=seed, progress=False)
    return narrow
