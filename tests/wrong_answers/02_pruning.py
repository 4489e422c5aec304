"""Plausible wrong answers to lesson 02_pruning: each must lose all the points of its exercise."""

_SPEED = '''
VARIANTS = ("dense", "82% sparse", "50% channels")
PREDICTED_SPEED = {{"flash": {flash}, "instructions": {instructions}}}
'''
_DENSE, _SPARSE, _CHANNELS = '"dense"', '"82% sparse"', '"50% channels"'


def _speed(flash=(_CHANNELS, _SPARSE, _DENSE), instructions=(_CHANNELS, _DENSE, _SPARSE)) -> str:
    return _SPEED.format(flash="[" + ", ".join(flash) + "]",
                         instructions="[" + ", ".join(instructions) + "]")


WRONG = {
    "toy_output": [
        # keeps the smallest weights and prunes the largest (sorted the wrong way)
        '''
def toy_output(W: np.ndarray, x: np.ndarray, k: int) -> float:
    """Return y = n1 + n2 of the toy layer after zeroing the k smallest-|w| weights of W."""
    pruned = np.array(W, dtype=float).copy()
    order = np.argsort(-np.abs(pruned).flatten(), kind="stable")
    pruned.flat[order[:k]] = 0.0
    return float((np.asarray(x, dtype=float) @ pruned).sum())
''',
        # ranks the signed weights, not their magnitudes: -0.6 counts as smaller than -0.1
        '''
def toy_output(W: np.ndarray, x: np.ndarray, k: int) -> float:
    """Return y = n1 + n2 of the toy layer after zeroing the k smallest-|w| weights of W."""
    pruned = np.array(W, dtype=float).copy()
    order = np.argsort(pruned.flatten(), kind="stable")
    pruned.flat[order[:k]] = 0.0
    return float((np.asarray(x, dtype=float) @ pruned).sum())
''',
        # prunes the caller's W itself (no copy)
        '''
def toy_output(W: np.ndarray, x: np.ndarray, k: int) -> float:
    """Return y = n1 + n2 of the toy layer after zeroing the k smallest-|w| weights of W."""
    order = np.argsort(np.abs(W).flatten(), kind="stable")
    W.flat[order[:k]] = 0.0
    return float((x @ W).sum())
''',
        # a threshold at the k-th smallest |w|: equal magnitudes are all pruned together
        '''
def toy_output(W: np.ndarray, x: np.ndarray, k: int) -> float:
    """Return y = n1 + n2 of the toy layer after zeroing the k smallest-|w| weights of W."""
    pruned = np.array(W, dtype=float).copy()
    if k > 0:
        threshold = np.sort(np.abs(pruned).flatten())[k - 1]
        pruned[np.abs(pruned) <= threshold] = 0.0
    return float((np.asarray(x, dtype=float) @ pruned).sum())
''',
    ],
    "magnitude_mask": [
        # off by one in the k-th value: a threshold at the (k+1)-th smallest prunes k + 1 weights
        '''
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
        # int() truncates: int(3.5) = 3 where round gives 4
        '''
def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Return a 0/1 mask that zeros the round(sparsity * numel) smallest-magnitude weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    k = int(sparsity * weight.numel())
    mask = torch.ones_like(weight)
    order = torch.argsort(weight.detach().abs().flatten(), stable=True)
    mask.view(-1)[order[:k]] = 0
    return mask
''',
        # a threshold: every weight with |w| <= the k-th smallest goes, ties included
        '''
def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Return a 0/1 mask that zeros the round(sparsity * numel) smallest-magnitude weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    k = round(sparsity * weight.numel())
    if k == 0:
        return torch.ones_like(weight)
    threshold = weight.detach().abs().flatten().kthvalue(k).values
    return (weight.detach().abs() > threshold).to(weight.dtype)
''',
        # a bool mask, not the weight's dtype
        '''
def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Return a 0/1 mask that zeros the round(sparsity * numel) smallest-magnitude weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    k = round(sparsity * weight.numel())
    mask = torch.ones(weight.shape, dtype=torch.bool)
    order = torch.argsort(weight.detach().abs().flatten(), stable=True)
    mask.view(-1)[order[:k]] = False
    return mask
''',
        # always a float32 mask, whatever the weight's dtype
        '''
def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Return a 0/1 mask that zeros the round(sparsity * numel) smallest-magnitude weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    k = round(sparsity * weight.numel())
    mask = torch.ones(weight.shape)
    order = torch.argsort(weight.detach().abs().flatten(), stable=True)
    mask.view(-1)[order[:k]] = 0
    return mask
''',
        # no check of the sparsity: 1.0 prunes everything instead of raising ValueError
        '''
def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Return a 0/1 mask that zeros the round(sparsity * numel) smallest-magnitude weights."""
    k = round(sparsity * weight.numel())
    mask = torch.ones_like(weight)
    order = torch.argsort(weight.detach().abs().flatten(), stable=True)
    mask.view(-1)[order[:max(k, 0)]] = 0
    return mask
''',
    ],
    "global_masks": [
        # one global threshold, but over every parameter: the biases get pruned too
        '''
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
        # per layer: every layer loses the same fraction (no shared threshold)
        '''
def global_masks(net: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Return {weight name: mask} from one magnitude threshold shared by all prunable weights."""
    return {f"{name}.weight": magnitude_mask(module.weight, sparsity)
            for name, module in net.named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))}
''',
        # every parameter named "weight": batch norm's scale is pruned too
        '''
def global_masks(net: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Return {weight name: mask} from one magnitude threshold shared by all prunable weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    weights = {n: p for n, p in net.named_parameters() if n.endswith("weight")}
    scores = torch.cat([w.detach().abs().flatten() for w in weights.values()])
    flat = torch.ones_like(scores)
    flat[torch.argsort(scores, stable=True)[:round(sparsity * scores.numel())]] = 0
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = flat[start:start + w.numel()].view_as(w).clone()
        start += w.numel()
    return masks
''',
        # prunes the network while computing the masks (changes net)
        '''
def global_masks(net: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Return {weight name: mask} from one magnitude threshold shared by all prunable weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    weights = {f"{name}.weight": module.weight for name, module in net.named_modules()
               if isinstance(module, (nn.Conv2d, nn.Linear))}
    scores = torch.cat([w.detach().abs().flatten() for w in weights.values()])
    flat = torch.ones_like(scores)
    flat[torch.argsort(scores, stable=True)[:round(sparsity * scores.numel())]] = 0
    masks, start = {}, 0
    with torch.no_grad():
        for name, w in weights.items():
            masks[name] = flat[start:start + w.numel()].view_as(w).clone()
            w.mul_(masks[name])
            start += w.numel()
    return masks
''',
        # a threshold at the k-th smallest score: equal magnitudes are all pruned together
        '''
def global_masks(net: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Return {weight name: mask} from one magnitude threshold shared by all prunable weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    weights = {f"{name}.weight": module.weight for name, module in net.named_modules()
               if isinstance(module, (nn.Conv2d, nn.Linear))}
    scores = torch.cat([w.detach().abs().flatten() for w in weights.values()])
    k = round(sparsity * scores.numel())
    threshold = scores.kthvalue(k).values if k else torch.tensor(-1.0)
    return {name: (w.detach().abs() > threshold).to(w.dtype) for name, w in weights.items()}
''',
        # int() truncates the count: int(3.5) = 3 where round gives 4
        '''
def global_masks(net: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Return {weight name: mask} from one magnitude threshold shared by all prunable weights."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    weights = {f"{name}.weight": module.weight for name, module in net.named_modules()
               if isinstance(module, (nn.Conv2d, nn.Linear))}
    scores = torch.cat([w.detach().abs().flatten() for w in weights.values()])
    flat = torch.ones_like(scores)
    flat[torch.argsort(scores, stable=True)[:int(sparsity * scores.numel())]] = 0
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = flat[start:start + w.numel()].view_as(w).clone()
        start += w.numel()
    return masks
''',
    ],
    "iterative_prune": [
        # prunes once before fine-tuning, but never re-applies the masks after optimizer steps
        '''
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
        # re-applies the masks after every step, but does not zero the weights before training
        '''
def iterative_prune(net: nn.Module, data, schedule: tuple[float, ...], epochs: int,
                    lr: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Prune net globally to each sparsity of schedule in turn, fine-tuning with masks held."""
    masks = {}
    for sparsity in schedule:
        masks = pruning.global_masks(net, sparsity)
        fit(net, data, epochs=epochs, lr=lr, seed=seed,
            after_step=lambda model, masks=masks: pruning.apply_masks(model, masks))
    return masks
''',
        # returns the first step's masks, not the last
        '''
def iterative_prune(net: nn.Module, data, schedule: tuple[float, ...], epochs: int,
                    lr: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Prune net globally to each sparsity of schedule in turn, fine-tuning with masks held."""
    all_masks = []
    for sparsity in schedule:
        masks = pruning.global_masks(net, sparsity)
        pruning.apply_masks(net, masks)
        fit(net, data, epochs=epochs, lr=lr, seed=seed,
            after_step=lambda model, masks=masks: pruning.apply_masks(model, masks))
        all_masks.append(masks)
    return all_masks[0] if all_masks else {}
''',
        # fine-tunes at fit's default learning rate and seed, not the ones given
        '''
def iterative_prune(net: nn.Module, data, schedule: tuple[float, ...], epochs: int,
                    lr: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Prune net globally to each sparsity of schedule in turn, fine-tuning with masks held."""
    masks = {}
    for sparsity in schedule:
        masks = pruning.global_masks(net, sparsity)
        pruning.apply_masks(net, masks)
        fit(net, data, epochs=epochs,
            after_step=lambda model, masks=masks: pruning.apply_masks(model, masks))
    return masks
''',
        # per-layer masks instead of global ones
        '''
def iterative_prune(net: nn.Module, data, schedule: tuple[float, ...], epochs: int,
                    lr: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Prune net globally to each sparsity of schedule in turn, fine-tuning with masks held."""
    masks = {}
    for sparsity in schedule:
        masks = pruning.layer_masks(net, sparsity)
        pruning.apply_masks(net, masks)
        fit(net, data, epochs=epochs, lr=lr, seed=seed,
            after_step=lambda model, masks=masks: pruning.apply_masks(model, masks))
    return masks
''',
        # fine-tunes first and prunes afterwards: the last pruning is never fine-tuned
        '''
def iterative_prune(net: nn.Module, data, schedule: tuple[float, ...], epochs: int,
                    lr: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Prune net globally to each sparsity of schedule in turn, fine-tuning with masks held."""
    masks = {}
    for sparsity in schedule:
        fit(net, data, epochs=epochs, lr=lr, seed=seed,
            after_step=lambda model, masks=masks: pruning.apply_masks(model, masks))
        masks = pruning.global_masks(net, sparsity)
        pruning.apply_masks(net, masks)
    return masks
''',
    ],
    "bitmask_encode": [
        # stores the mask as one byte per weight instead of one bit
        '''
def bitmask_encode(weight: torch.Tensor) -> tuple[bytes, bytes]:
    """Return (packed nonzero bitmask, float32 nonzero values) of weight, in flat order."""
    flat = weight.detach().to(torch.float32).flatten().numpy()
    nonzero = flat != 0
    return nonzero.astype(np.uint8).tobytes(), flat[nonzero].tobytes()
''',
        # the first weight in the least significant bit
        '''
def bitmask_encode(weight: torch.Tensor) -> tuple[bytes, bytes]:
    """Return (packed nonzero bitmask, float32 nonzero values) of weight, in flat order."""
    flat = weight.detach().to(torch.float32).flatten().numpy()
    nonzero = flat != 0
    return np.packbits(nonzero, bitorder="little").tobytes(), flat[nonzero].tobytes()
''',
        # the values kept in the weight's own dtype (float64 stays 8 bytes a value)
        '''
def bitmask_encode(weight: torch.Tensor) -> tuple[bytes, bytes]:
    """Return (packed nonzero bitmask, float32 nonzero values) of weight, in flat order."""
    flat = weight.detach().flatten().numpy()
    nonzero = flat != 0
    return np.packbits(nonzero).tobytes(), flat[nonzero].tobytes()
''',
        # all the values, zeros included
        '''
def bitmask_encode(weight: torch.Tensor) -> tuple[bytes, bytes]:
    """Return (packed nonzero bitmask, float32 nonzero values) of weight, in flat order."""
    flat = weight.detach().to(torch.float32).flatten().numpy()
    return np.packbits(flat != 0).tobytes(), flat.tobytes()
''',
        # packs by hand, 8 weights a byte, and drops the last partial byte
        '''
def bitmask_encode(weight: torch.Tensor) -> tuple[bytes, bytes]:
    """Return (packed nonzero bitmask, float32 nonzero values) of weight, in flat order."""
    flat = weight.detach().to(torch.float32).flatten().numpy()
    nonzero = flat != 0
    bits = bytes(int(sum(int(b) << (7 - j) for j, b in enumerate(nonzero[i:i + 8])))
                 for i in range(0, len(nonzero) - 7, 8))
    return bits, flat[nonzero].tobytes()
''',
    ],
    "prune_channels": [
        # shrinks fc1 to the right size but keeps its first columns, not those of the kept channels
        '''
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
        # keeps the channels strongest first instead of in their original order
        '''
def prune_channels(net: models.DigitsCNN, amount: float) -> models.DigitsCNN:
    """Return a smaller DigitsCNN without each conv's weakest round(amount * C) channels."""
    conv1, conv2 = net.features[0], net.features[3]
    fc1, fc2 = net.classifier[1], net.classifier[3]

    def keep(weight: torch.Tensor) -> torch.Tensor:
        norms = weight.detach().flatten(1).norm(dim=1)
        drop = round(amount * len(norms))
        return torch.argsort(norms, descending=True, stable=True)[:len(norms) - drop]

    keep1, keep2 = keep(conv1.weight), keep(conv2.weight)
    columns = (keep2[:, None] * 4 + torch.arange(4)).flatten()
    small = models.DigitsCNN((len(keep1), len(keep2)), fc1.out_features, fc2.out_features)
    with torch.no_grad():
        small.features[0].weight.copy_(conv1.weight[keep1])
        small.features[0].bias.copy_(conv1.bias[keep1])
        small.features[3].weight.copy_(conv2.weight[keep2][:, keep1])
        small.features[3].bias.copy_(conv2.bias[keep2])
        small.classifier[1].weight.copy_(fc1.weight[:, columns])
        small.classifier[1].bias.copy_(fc1.bias)
        small.classifier[3].weight.copy_(fc2.weight)
        small.classifier[3].bias.copy_(fc2.bias)
    return small
''',
        # ranks the channels by their L1 norm
        '''
def prune_channels(net: models.DigitsCNN, amount: float) -> models.DigitsCNN:
    """Return a smaller DigitsCNN without each conv's weakest round(amount * C) channels."""
    conv1, conv2 = net.features[0], net.features[3]
    fc1, fc2 = net.classifier[1], net.classifier[3]

    def keep(weight: torch.Tensor) -> torch.Tensor:
        norms = weight.detach().abs().flatten(1).sum(dim=1)
        drop = round(amount * len(norms))
        return torch.sort(torch.argsort(norms, stable=True)[drop:]).values

    keep1, keep2 = keep(conv1.weight), keep(conv2.weight)
    columns = (keep2[:, None] * 4 + torch.arange(4)).flatten()
    small = models.DigitsCNN((len(keep1), len(keep2)), fc1.out_features, fc2.out_features)
    with torch.no_grad():
        small.features[0].weight.copy_(conv1.weight[keep1])
        small.features[0].bias.copy_(conv1.bias[keep1])
        small.features[3].weight.copy_(conv2.weight[keep2][:, keep1])
        small.features[3].bias.copy_(conv2.bias[keep2])
        small.classifier[1].weight.copy_(fc1.weight[:, columns])
        small.classifier[1].bias.copy_(fc1.bias)
        small.classifier[3].weight.copy_(fc2.weight)
        small.classifier[3].bias.copy_(fc2.bias)
    return small
''',
        # conv2 keeps its first input channels, not those of conv1's kept channels
        '''
def prune_channels(net: models.DigitsCNN, amount: float) -> models.DigitsCNN:
    """Return a smaller DigitsCNN without each conv's weakest round(amount * C) channels."""
    conv1, conv2 = net.features[0], net.features[3]
    fc1, fc2 = net.classifier[1], net.classifier[3]

    def keep(weight: torch.Tensor) -> torch.Tensor:
        norms = weight.detach().flatten(1).norm(dim=1)
        drop = round(amount * len(norms))
        return torch.sort(torch.argsort(norms, stable=True)[drop:]).values

    keep1, keep2 = keep(conv1.weight), keep(conv2.weight)
    columns = (keep2[:, None] * 4 + torch.arange(4)).flatten()
    small = models.DigitsCNN((len(keep1), len(keep2)), fc1.out_features, fc2.out_features)
    with torch.no_grad():
        small.features[0].weight.copy_(conv1.weight[keep1])
        small.features[0].bias.copy_(conv1.bias[keep1])
        small.features[3].weight.copy_(conv2.weight[keep2][:, :len(keep1)])
        small.features[3].bias.copy_(conv2.bias[keep2])
        small.classifier[1].weight.copy_(fc1.weight[:, columns])
        small.classifier[1].bias.copy_(fc1.bias)
        small.classifier[3].weight.copy_(fc2.weight)
        small.classifier[3].bias.copy_(fc2.bias)
    return small
''',
        # fc1's columns taken as if flatten put the channel last (position-major)
        '''
def prune_channels(net: models.DigitsCNN, amount: float) -> models.DigitsCNN:
    """Return a smaller DigitsCNN without each conv's weakest round(amount * C) channels."""
    conv1, conv2 = net.features[0], net.features[3]
    fc1, fc2 = net.classifier[1], net.classifier[3]

    def keep(weight: torch.Tensor) -> torch.Tensor:
        norms = weight.detach().flatten(1).norm(dim=1)
        drop = round(amount * len(norms))
        return torch.sort(torch.argsort(norms, stable=True)[drop:]).values

    keep1, keep2 = keep(conv1.weight), keep(conv2.weight)
    columns = (torch.arange(4)[:, None] * conv2.out_channels + keep2).flatten()
    small = models.DigitsCNN((len(keep1), len(keep2)), fc1.out_features, fc2.out_features)
    with torch.no_grad():
        small.features[0].weight.copy_(conv1.weight[keep1])
        small.features[0].bias.copy_(conv1.bias[keep1])
        small.features[3].weight.copy_(conv2.weight[keep2][:, keep1])
        small.features[3].bias.copy_(conv2.bias[keep2])
        small.classifier[1].weight.copy_(fc1.weight[:, columns])
        small.classifier[1].bias.copy_(fc1.bias)
        small.classifier[3].weight.copy_(fc2.weight)
        small.classifier[3].bias.copy_(fc2.bias)
    return small
''',
        # int() truncates the channels to drop: int(2.5) = 2 agrees with round, int(1.5) = 1 does not
        '''
def prune_channels(net: models.DigitsCNN, amount: float) -> models.DigitsCNN:
    """Return a smaller DigitsCNN without each conv's weakest round(amount * C) channels."""
    conv1, conv2 = net.features[0], net.features[3]
    fc1, fc2 = net.classifier[1], net.classifier[3]

    def keep(weight: torch.Tensor) -> torch.Tensor:
        norms = weight.detach().flatten(1).norm(dim=1)
        drop = int(amount * len(norms))
        return torch.sort(torch.argsort(norms, stable=True)[drop:]).values

    keep1, keep2 = keep(conv1.weight), keep(conv2.weight)
    columns = (keep2[:, None] * 4 + torch.arange(4)).flatten()
    small = models.DigitsCNN((len(keep1), len(keep2)), fc1.out_features, fc2.out_features)
    with torch.no_grad():
        small.features[0].weight.copy_(conv1.weight[keep1])
        small.features[0].bias.copy_(conv1.bias[keep1])
        small.features[3].weight.copy_(conv2.weight[keep2][:, keep1])
        small.features[3].bias.copy_(conv2.bias[keep2])
        small.classifier[1].weight.copy_(fc1.weight[:, columns])
        small.classifier[1].bias.copy_(fc1.bias)
        small.classifier[3].weight.copy_(fc2.weight)
        small.classifier[3].bias.copy_(fc2.bias)
    return small
''',
    ],
    "csr_matvec": [
        # multiplies in the arrays' own types: int8 * int8 wraps around
        '''
def csr_matvec(values: np.ndarray, index: np.ndarray, count: np.ndarray,
               x: np.ndarray) -> np.ndarray:
    """Return each row's sum of values * x[index] (CSR rows of count[r] values), as integers."""
    sums = np.zeros(len(count), dtype=np.int64)
    start = 0
    for row, n in enumerate(count):
        sums[row] = (values[start:start + n] * x[index[start:start + n]]).sum(dtype=np.int64)
        start += int(n)
    return sums
''',
        # np.add.reduceat: an empty row gets the next row's first product instead of 0
        '''
def csr_matvec(values: np.ndarray, index: np.ndarray, count: np.ndarray,
               x: np.ndarray) -> np.ndarray:
    """Return each row's sum of values * x[index] (CSR rows of count[r] values), as integers."""
    products = values.astype(np.int64) * x.astype(np.int64)[index]
    starts = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.intp)
    products = np.append(products, 0)
    return np.add.reduceat(products, np.minimum(starts, len(products) - 1))[:len(count)]
''',
        # multiplies each value by x in value order, ignoring where index points
        '''
def csr_matvec(values: np.ndarray, index: np.ndarray, count: np.ndarray,
               x: np.ndarray) -> np.ndarray:
    """Return each row's sum of values * x[index] (CSR rows of count[r] values), as integers."""
    sums = np.zeros(len(count), dtype=np.int64)
    start = 0
    for row, n in enumerate(count):
        n = int(n)
        sums[row] = values[start:start + n].astype(np.int64) @ x[:n].astype(np.int64)
        start += n
    return sums
''',
        # reads count as row pointers (CSR's indptr): row r from count[r] to count[r + 1]
        '''
def csr_matvec(values: np.ndarray, index: np.ndarray, count: np.ndarray,
               x: np.ndarray) -> np.ndarray:
    """Return each row's sum of values * x[index] (CSR rows of count[r] values), as integers."""
    bounds = np.append(count.astype(np.int64), len(values))
    sums = np.zeros(len(count), dtype=np.int64)
    for row in range(len(count)):
        a, b = bounds[row], bounds[row + 1]
        sums[row] = values[a:b].astype(np.int64) @ x[index[a:b]].astype(np.int64)
    return sums
''',
    ],
    "PREDICTED_SPEED": [
        # "82% fewer weights means 82% less work": the sparse kernel ranked fastest
        _speed(instructions=(_SPARSE, _CHANNELS, _DENSE)),
        # "skipping zeros beats SIMD over all weights": sparse ahead of dense
        _speed(instructions=(_CHANNELS, _SPARSE, _DENSE)),
        # CSR ranked the smallest image: its index bytes forgotten
        _speed(flash=(_SPARSE, _CHANNELS, _DENSE)),
        # "sparse formats cost more than they save": CSR above dense in flash
        _speed(flash=(_CHANNELS, _DENSE, _SPARSE)),
    ],
}
