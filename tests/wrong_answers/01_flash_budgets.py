"""One plausible wrong answer per exercise of lesson 01 (each must lose all its points)."""

WRONG = {
    # int4 rounded down: an odd count of 4-bit weights loses its last half-filled byte.
    "weight_bytes": '''
def weight_bytes(num_params: int, dtype: str) -> int:
    bits = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4}
    if dtype not in bits:
        raise ValueError(f"unknown dtype {dtype!r}")
    return num_params * bits[dtype] // 8
''',
    # The state dict holds the buffers too (batch-norm running statistics).
    "count_parameters": '''
def count_parameters(net: nn.Module, include_head: bool = True) -> int:
    total = sum(t.numel() for t in net.state_dict().values())
    if not include_head:
        total -= sum(t.numel() for t in budgets.classifier_head(net).state_dict().values())
    return total
''',
    # An absolute tolerance in millions instead of a relative one.
    "seed_match": '''
def seed_match(seed_millions: float, with_head: int, without_head: int, rtol: float = 0.02) -> str:
    for label, count in (("with head", with_head), ("without head", without_head)):
        if abs(seed_millions - count / 1e6) <= rtol:
            return label
    return "no match"
''',
    # The smallest by the seed's own #Params column (6.25 M), not by the counted parameters.
    "smallest_model": '''
smallest_model = min(SEED_TABLE, key=lambda name: SEED_TABLE[name][2])
times_1mb = weight_bytes(table[smallest_model].num_params, "fp32") / MB
times_1mib = weight_bytes(table[smallest_model].num_params, "fp32") / MIB
''',
    # Only the outputs: a layer's input must stay in SRAM while it computes its output.
    "peak_activation": '''
def peak_activation(net: nn.Module, input_shape: tuple[int, ...], bytes_per_element: int = 4) -> int:
    sizes = []
    handles = [m.register_forward_hook(lambda m, i, o: sizes.append(o.numel()))
               for m in net.modules() if not any(m.children())]
    with torch.no_grad():
        net(torch.zeros(1, *input_shape, device=next(net.parameters()).device))
    for handle in handles:
        handle.remove()
    return max(sizes) * bytes_per_element
''',
    # Forgets the 10-class head: counts the 1000-class ImageNet network.
    "fitting_architectures": '''
def fitting_architectures(names: list[str], dtype: str, flash_bytes: int,
                          num_classes: int = 10) -> list[str]:
    return [name for name in names
            if weight_bytes(count_parameters(budgets.build_architecture(name)), dtype) <= flash_bytes]
''',
    # Returns the first size that fits in the order given, not the largest.
    "largest_input_that_fits": '''
def largest_input_that_fits(net: nn.Module, sram_bytes: int, sizes: list[int],
                            bytes_per_element: int = 1) -> int | None:
    for size in sizes:
        try:
            if peak_activation(net, (3, size, size), bytes_per_element) <= sram_bytes:
                return size
        except RuntimeError:
            continue
    return None
''',
}
