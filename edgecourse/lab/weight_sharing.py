"""Weight sharing on a torch network (lesson 06): cluster layers, fine-tune the centroids.

Deep Compression's "trained quantization": each conv/linear weight tensor becomes
``centroids[labels]``; fine-tuning trains only the centroids, and a centroid's gradient is the
sum of the gradients of the weights that share it (autograd's gather does exactly that).
"""

import copy
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from edgecourse.lab import backend  # noqa: F401  (torch and torchvision first, one thread)
from edgecourse.lab.arithmetic import choose_qparams, dequantize, quantize
from edgecourse.lab.codebooks import check_bits, kmeans_1d
from edgecourse.lab.data import Split
from edgecourse.lab.train import evaluate, fit


@dataclass(frozen=True)
class Cluster:
    """One shared layer: its centroids (float64) and each weight's label (weight's shape)."""

    centroids: np.ndarray
    labels: np.ndarray


def shared_layers(net: nn.Module) -> dict[str, nn.Module]:
    """Return the conv and linear layers whose weights are shared, by module name."""
    return {name: m for name, m in net.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)}


def _bits_per_layer(net: nn.Module, bits: int | Mapping[str, int]) -> dict[str, int]:
    layers = shared_layers(net)
    if isinstance(bits, Mapping):
        unknown = set(bits) - set(layers)
        if unknown:
            raise ValueError(f"no conv/linear layer named {sorted(unknown)}; have {sorted(layers)}")
        return {name: check_bits(b) for name, b in bits.items()}
    return {name: check_bits(bits) for name in layers}


def cluster_net(net: nn.Module, bits: int | Mapping[str, int]) -> dict[str, Cluster]:
    """Return a copy-free clustering: replace each named layer's weight by its k-means values.

    ``bits`` is one width for every conv/linear layer or a ``{layer name: bits}`` mapping (the
    layers not named stay as they are). Changes ``net`` in place; returns the clusters.
    """
    clusters = {}
    with torch.no_grad():
        for name, b in _bits_per_layer(net, bits).items():
            weight = shared_layers(net)[name].weight
            centroids, labels = kmeans_1d(weight.detach().numpy(), 1 << b)
            labels = labels.reshape(tuple(weight.shape))
            weight.copy_(torch.as_tensor(centroids[labels], dtype=weight.dtype))
            clusters[name] = Cluster(centroids, labels)
    return clusters


def linear_quantize_net(net: nn.Module, bits: int) -> nn.Module:
    """Return a copy with every conv/linear weight quantized symmetrically per tensor (lesson 04)."""
    check_bits(bits)
    if bits < 2:
        raise ValueError("symmetric linear quantization needs at least 2 bits (-1, 0, 1)")
    out = copy.deepcopy(net)
    with torch.no_grad():
        for layer in shared_layers(out).values():
            w = layer.weight.detach().numpy()
            scale, zero_point = choose_qparams(w.min(), w.max(), bits, symmetric=True)
            q = quantize(w.astype(np.float64), scale, zero_point, np.int8, bits=bits)
            layer.weight.copy_(torch.as_tensor(dequantize(q, scale, zero_point)))
    return out


class _Gather(nn.Module):
    """A weight computed as ``centroids[labels]``: gradients sum over each cluster."""

    def __init__(self, cluster: Cluster, dtype: torch.dtype):
        super().__init__()
        self.centroids = nn.Parameter(torch.as_tensor(cluster.centroids, dtype=dtype))
        self.register_buffer("labels", torch.as_tensor(cluster.labels, dtype=torch.long))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return self.centroids[self.labels]


def finetune_centroids(
    net: nn.Module, clusters: Mapping[str, Cluster], data: Split, epochs: int = 3,
    lr: float = 1e-3, seed: int = 0,
) -> dict[str, Cluster]:
    """Train only the centroids of the clustered layers (in place); return the new clusters."""
    layers = shared_layers(net)
    for param in net.parameters():
        param.requires_grad_(False)
    for name, cluster in clusters.items():
        parametrize.register_parametrization(layers[name], "weight",
                                             _Gather(cluster, layers[name].weight.dtype))
    try:
        fit(net, data, epochs=epochs, lr=lr, seed=seed, desc="centroids")
        tuned = {name: Cluster(layers[name].parametrizations.weight[0].centroids.detach()
                               .double().numpy().copy(), clusters[name].labels)
                 for name in clusters}
    finally:
        for name in clusters:
            parametrize.remove_parametrizations(layers[name], "weight", leave_parametrized=True)
        for param in net.parameters():
            param.requires_grad_(True)
    return tuned



def sensitivity_scan(
    net: nn.Module, data: Split, bits_options: tuple[int, ...] = (1, 2, 3, 4),
) -> dict[str, dict[int, float]]:
    """Return ``{layer: {bits: accuracy}}``: each layer clustered alone, the others untouched."""
    scan = {}
    for name in shared_layers(net):
        scan[name] = {}
        for bits in bits_options:
            trial = copy.deepcopy(net)
            cluster_net(trial, {name: bits})
            scan[name][bits] = evaluate(trial, data)
    return scan
