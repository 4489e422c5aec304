"""Plausible wrong answers to lesson 02_pruning: each must lose all the points of its exercise."""

WRONG = {
    # keeps the smallest weights and prunes the largest (sorted the wrong way)
    "toy_output": '''
def toy_output(W: np.ndarray, x: np.ndarray, k: int) -> float:
    """Return y = n1 + n2 of the toy layer after zeroing the k smallest-|w| weights of W."""
    pruned = np.array(W, dtype=float).copy()
    order = np.argsort(-np.abs(pruned).flatten(), kind="stable")
    pruned.flat[order[:k]] = 0.0
    return float((np.asarray(x, dtype=float) @ pruned).sum())
''',
    # off by one in the k-th value: a threshold at the (k+1)-th smallest prunes k + 1 weights
    "magnitude_mask": '''
def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Return a 0/1 mask that zeros the round(sparsity * numel) smallest-magnitude weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    k = round(sparsity * weight.numel())
    if k == 0:
        return torch.ones_like(weight)
    threshold = weight.detach().abs().flatten().kthvalue(k + 1).values
    return (weight.detach().abs() > threshold).to(weight.dtype)
''',
    # one global threshold, but over every parameter: the biases get pruned too
    "global_masks": '''
def global_masks(net: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Return {weight name: mask} from one magnitude threshold shared by all prunable weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    params = dict(net.named_parameters())
    scores = torch.cat([p.detach().abs().flatten() for p in params.values()])
    flat = torch.ones_like(scores)
    flat[torch.argsort(scores, stable=True)[:round(sparsity * scores.numel())]] = 0
    masks, start = {}, 0
    for name, p in params.items():
        masks[name] = flat[start:start + p.numel()].view_as(p).clone()
        start += p.numel()
    return masks
''',
    # prunes once before fine-tuning, but never re-applies the masks after optimizer steps
    "iterative_prune": '''
def iterative_prune(net: nn.Module, data, schedule: tuple[float, ...], epochs: int,
                    lr: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Prune net globally to each sparsity of schedule in turn, fine-tuning with masks held."""
    masks = {}
    for sparsity in schedule:
        masks = pruning.global_masks(net, sparsity)
        pruning.apply_masks(net, masks)
        fit(net, data, epochs=epochs, lr=lr, seed=seed, desc=f"fine-tune at {sparsity:.0%}")
    return masks
''',
    # stores the mask as one byte per weight instead of one bit
    "bitmask_encode": '''
def bitmask_encode(weight: torch.Tensor) -> tuple[bytes, bytes]:
    """Return (packed nonzero bitmask, float32 nonzero values) of weight, in flat order."""
    flat = weight.detach().to(torch.float32).flatten().numpy()
    nonzero = flat != 0
    return nonzero.astype(np.uint8).tobytes(), flat[nonzero].tobytes()
''',
    # shrinks fc1 to the right size but keeps its first columns, not those of the kept channels
    "prune_channels": '''
def prune_channels(net: models.DigitsCNN, amount: float) -> models.DigitsCNN:
    """Return a smaller DigitsCNN without each conv's weakest round(amount * C) channels."""
    conv1, conv2 = net.features[0], net.features[3]
    fc1, fc2 = net.classifier[1], net.classifier[3]

    def keep(weight: torch.Tensor) -> torch.Tensor:
        norms = weight.detach().flatten(1).norm(dim=1)
        drop = round(amount * len(norms))
        return torch.sort(torch.argsort(norms, stable=True)[drop:]).values

    keep1, keep2 = keep(conv1.weight), keep(conv2.weight)
    small = models.DigitsCNN((len(keep1), len(keep2)), fc1.out_features, fc2.out_features)
    with torch.no_grad():
        small.features[0].weight.copy_(conv1.weight[keep1])
        small.features[0].bias.copy_(conv1.bias[keep1])
        small.features[3].weight.copy_(conv2.weight[keep2][:, keep1])
        small.features[3].bias.copy_(conv2.bias[keep2])
        small.classifier[1].weight.copy_(fc1.weight[:, :4 * len(keep2)])
        small.classifier[1].bias.copy_(fc1.bias)
        small.classifier[3].weight.copy_(fc2.weight)
        small.classifier[3].bias.copy_(fc2.bias)
    return small
''',
}
