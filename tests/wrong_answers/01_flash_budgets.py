"""Plausible wrong answers to lesson 01_flash_budgets: each must lose all its exercise's points."""

WRONG = {
    "weight_bytes": [
        # int4 rounded down: an odd count of 4-bit weights loses its last half-filled byte.
        '''
def weight_bytes(num_params: int, dtype: str) -> int:
    bits = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4}
    if dtype not in bits:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(bits)}")
    return num_params * bits[dtype] // 8
''',
        # round() instead of a ceiling: round(0.5) and round(2.5) go down (half to even).
        '''
def weight_bytes(num_params: int, dtype: str) -> int:
    bits = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4}
    if dtype not in bits:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(bits)}")
    return round(num_params * bits[dtype] / 8)
''',
        # np.ceil returns a numpy float: flash holds whole bytes, an int.
        '''
import numpy as np

def weight_bytes(num_params: int, dtype: str) -> int:
    bits = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4}
    if dtype not in bits:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(bits)}")
    return np.ceil(num_params * bits[dtype] / 8)
''',
        # an unknown dtype raises KeyError (the dict lookup), not ValueError
        '''
def weight_bytes(num_params: int, dtype: str) -> int:
    bits = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4}[dtype]
    return math.ceil(num_params * bits / 8)
''',
        # accepts the torch spellings too ('float32', 'float16'): they should raise ValueError
        '''
def weight_bytes(num_params: int, dtype: str) -> int:
    bits = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4, "float32": 32, "float16": 16}
    if dtype not in bits:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(bits)}")
    return math.ceil(num_params * bits[dtype] / 8)
''',
        # the error message does not list the known dtypes
        '''
def weight_bytes(num_params: int, dtype: str) -> int:
    bits = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4}
    if dtype not in bits:
        raise ValueError("unknown dtype")
    return math.ceil(num_params * bits[dtype] / 8)
''',
    ],
    "count_parameters": [
        # The state dict holds the buffers too (batch-norm running statistics).
        '''
def count_parameters(net: nn.Module, include_head: bool = True) -> int:
    total = sum(t.numel() for t in net.state_dict().values())
    if not include_head:
        total -= sum(t.numel() for t in budgets.classifier_head(net).state_dict().values())
    return total
''',
        # the usual snippet: only parameters that require grad (frozen weights are still weights)
        '''
def count_parameters(net: nn.Module, include_head: bool = True) -> int:
    total = sum(p.numel() for p in net.parameters() if p.requires_grad)
    if not include_head:
        total -= sum(p.numel() for p in budgets.classifier_head(net).parameters() if p.requires_grad)
    return total
''',
        # the head taken as the last child, not budgets.classifier_head
        '''
def count_parameters(net: nn.Module, include_head: bool = True) -> int:
    total = sum(p.numel() for p in net.parameters())
    if not include_head:
        total -= sum(p.numel() for p in list(net.children())[-1].parameters())
    return total
''',
        # weights only: the biases are forgotten
        '''
def count_parameters(net: nn.Module, include_head: bool = True) -> int:
    total = sum(p.numel() for n, p in net.named_parameters() if n.endswith("weight"))
    if not include_head:
        total -= sum(p.numel() for n, p in budgets.classifier_head(net).named_parameters()
                     if n.endswith("weight"))
    return total
''',
        # the head's last Linear only: vgg19's classifier has three
        '''
def count_parameters(net: nn.Module, include_head: bool = True) -> int:
    total = sum(p.numel() for p in net.parameters())
    if not include_head:
        head = budgets.classifier_head(net)
        linears = [m for m in head.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        total -= sum(p.numel() for p in linears[-1].parameters())
    return total
''',
    ],
    "seed_match": [
        # An absolute tolerance in millions instead of a relative one.
        '''
def seed_match(seed_millions: float, with_head: int, without_head: int, rtol: float = 0.02) -> str:
    for label, count in (("with head", with_head), ("without head", without_head)):
        if abs(seed_millions - count / 1e6) <= rtol:
            return label
    return "no match"
''',
        # relative to the seed's figure, not to the count
        '''
def seed_match(seed_millions: float, with_head: int, without_head: int, rtol: float = 0.02) -> str:
    seed = seed_millions * 1e6
    errors = {"with head": abs(seed - with_head) / seed,
              "without head": abs(seed - without_head) / seed}
    best = min(errors, key=errors.get)
    return best if errors[best] <= rtol else "no match"
''',
        # strictly less than rtol: exactly rtol apart is still within it
        '''
def seed_match(seed_millions: float, with_head: int, without_head: int, rtol: float = 0.02) -> str:
    seed = seed_millions * 1e6
    errors = {"with head": abs(seed - with_head) / with_head,
              "without head": abs(seed - without_head) / without_head}
    best = min(errors, key=errors.get)
    return best if errors[best] < rtol else "no match"
''',
        # the first count within rtol, not the closer one
        '''
def seed_match(seed_millions: float, with_head: int, without_head: int, rtol: float = 0.02) -> str:
    seed = seed_millions * 1e6
    for label, count in (("with head", with_head), ("without head", without_head)):
        if abs(seed - count) / count <= rtol:
            return label
    return "no match"
''',
        # the closer count by absolute difference, not relative
        '''
def seed_match(seed_millions: float, with_head: int, without_head: int, rtol: float = 0.02) -> str:
    seed = seed_millions * 1e6
    best = "with head" if abs(seed - with_head) <= abs(seed - without_head) else "without head"
    count = with_head if best == "with head" else without_head
    return best if abs(seed - count) / count <= rtol else "no match"
''',
    ],
    "smallest_model": [
        # The smallest by the seed's own #Params column (6.25 M), not by the counted parameters.
        '''
smallest_model = min(SEED_TABLE, key=lambda name: SEED_TABLE[name][2])
times_1mb = weight_bytes(table[smallest_model].num_params, "fp32") / MB
times_1mib = weight_bytes(table[smallest_model].num_params, "fp32") / MIB
''',
        # the smallest by the seed's Size column
        '''
smallest_model = min(SEED_TABLE, key=lambda name: SEED_TABLE[name][1])
times_1mb = weight_bytes(table[smallest_model].num_params, "fp32") / MB
times_1mib = weight_bytes(table[smallest_model].num_params, "fp32") / MIB
''',
        # the parameter count over the flash, not its fp32 bytes (1 byte per weight)
        '''
smallest_model = min(table, key=lambda name: table[name].num_params)
times_1mb = table[smallest_model].num_params / MB
times_1mib = table[smallest_model].num_params / MIB
''',
        # the units swapped: 1 MiB used for times_1mb and 1 MB for times_1mib
        '''
smallest_model = min(table, key=lambda name: table[name].num_params)
times_1mb = weight_bytes(table[smallest_model].num_params, "fp32") / MIB
times_1mib = weight_bytes(table[smallest_model].num_params, "fp32") / MB
''',
        # the ratio the other way round: flash over weights
        '''
smallest_model = min(table, key=lambda name: table[name].num_params)
times_1mb = MB / weight_bytes(table[smallest_model].num_params, "fp32")
times_1mib = MIB / weight_bytes(table[smallest_model].num_params, "fp32")
''',
    ],
    "peak_activation": [
        # Only the outputs: a layer's input must stay in SRAM while it computes its output.
        '''
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
        # the sum over all layers, not the busiest one
        '''
def peak_activation(net: nn.Module, input_shape: tuple[int, ...], bytes_per_element: int = 4) -> int:
    sizes = []
    handles = [m.register_forward_hook(
        lambda m, i, o: sizes.append(sum(x.numel() for x in i) + o.numel()))
        for m in net.modules() if not any(m.children())]
    with torch.no_grad():
        net(torch.zeros(1, *input_shape, device=next(net.parameters()).device))
    for handle in handles:
        handle.remove()
    return sum(sizes) * bytes_per_element
''',
        # every module hooked, the containers too: a block's input and output are not held at once
        '''
def peak_activation(net: nn.Module, input_shape: tuple[int, ...], bytes_per_element: int = 4) -> int:
    sizes = []
    handles = [m.register_forward_hook(
        lambda m, i, o: sizes.append(sum(x.numel() for x in i) + o.numel()))
        for m in net.modules()]
    with torch.no_grad():
        net(torch.zeros(1, *input_shape, device=next(net.parameters()).device))
    for handle in handles:
        handle.remove()
    return max(sizes) * bytes_per_element
''',
        # the sample always on the CPU: a network on the meta device cannot run it
        '''
def peak_activation(net: nn.Module, input_shape: tuple[int, ...], bytes_per_element: int = 4) -> int:
    sizes = []
    handles = [m.register_forward_hook(
        lambda m, i, o: sizes.append(sum(x.numel() for x in i) + o.numel()))
        for m in net.modules() if not any(m.children())]
    with torch.no_grad():
        net(torch.zeros(1, *input_shape))
    for handle in handles:
        handle.remove()
    return max(sizes) * bytes_per_element
''',
        # the hooks stay on the network
        '''
def peak_activation(net: nn.Module, input_shape: tuple[int, ...], bytes_per_element: int = 4) -> int:
    sizes = []
    for m in net.modules():
        if not any(m.children()):
            m.register_forward_hook(
                lambda m, i, o: sizes.append(sum(x.numel() for x in i) + o.numel()))
    with torch.no_grad():
        net(torch.zeros(1, *input_shape, device=next(net.parameters()).device))
    return max(sizes) * bytes_per_element
''',
        # the largest input plus the largest output, from different layers
        '''
def peak_activation(net: nn.Module, input_shape: tuple[int, ...], bytes_per_element: int = 4) -> int:
    ins, outs = [], []

    def hook(module, inputs, output):
        ins.append(sum(x.numel() for x in inputs))
        outs.append(output.numel())

    handles = [m.register_forward_hook(hook) for m in net.modules() if not any(m.children())]
    with torch.no_grad():
        net(torch.zeros(1, *input_shape, device=next(net.parameters()).device))
    for handle in handles:
        handle.remove()
    return (max(ins) + max(outs)) * bytes_per_element
''',
    ],
    "fitting_architectures": [
        # Forgets the 10-class head: counts the 1000-class ImageNet network.
        '''
def fitting_architectures(names: list[str], dtype: str, flash_bytes: int,
                          num_classes: int = 10) -> list[str]:
    return [name for name in names
            if weight_bytes(count_parameters(budgets.build_architecture(name)), dtype) <= flash_bytes]
''',
        # strictly smaller than the flash: weights exactly as large as the flash fit
        '''
def fitting_architectures(names: list[str], dtype: str, flash_bytes: int,
                          num_classes: int = 10) -> list[str]:
    return [name for name in names
            if weight_bytes(count_parameters(budgets.build_architecture(
                name, num_classes=num_classes)), dtype) < flash_bytes]
''',
        # the bytes by hand, rounded down: an odd count at int4 loses its half-filled byte
        '''
def fitting_architectures(names: list[str], dtype: str, flash_bytes: int,
                          num_classes: int = 10) -> list[str]:
    bits = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4}[dtype]
    return [name for name in names
            if count_parameters(budgets.build_architecture(name, num_classes=num_classes)) * bits // 8
            <= flash_bytes]
''',
        # sorted by name instead of in the order given
        '''
def fitting_architectures(names: list[str], dtype: str, flash_bytes: int,
                          num_classes: int = 10) -> list[str]:
    return sorted(name for name in names
                  if weight_bytes(count_parameters(budgets.build_architecture(
                      name, num_classes=num_classes)), dtype) <= flash_bytes)
''',
        # the backbone only: the num_classes head left out of the count
        '''
def fitting_architectures(names: list[str], dtype: str, flash_bytes: int,
                          num_classes: int = 10) -> list[str]:
    return [name for name in names
            if weight_bytes(count_parameters(budgets.build_architecture(
                name, num_classes=num_classes), include_head=False), dtype) <= flash_bytes]
''',
    ],
    "largest_input_that_fits": [
        # Returns the first size that fits in the order given, not the largest.
        '''
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
        # strictly below the SRAM: a peak exactly as large as the SRAM fits
        '''
def largest_input_that_fits(net: nn.Module, sram_bytes: int, sizes: list[int],
                            bytes_per_element: int = 1) -> int | None:
    fitting = []
    for size in sizes:
        try:
            if peak_activation(net, (3, size, size), bytes_per_element) < sram_bytes:
                fitting.append(size)
        except RuntimeError:
            continue
    return max(fitting, default=None)
''',
        # a failing forward pass is not caught
        '''
def largest_input_that_fits(net: nn.Module, sram_bytes: int, sizes: list[int],
                            bytes_per_element: int = 1) -> int | None:
    fitting = [size for size in sizes
               if peak_activation(net, (3, size, size), bytes_per_element) <= sram_bytes]
    return max(fitting, default=None)
''',
        # bytes_per_element ignored: peak_activation's default (4 bytes) is used
        '''
def largest_input_that_fits(net: nn.Module, sram_bytes: int, sizes: list[int],
                            bytes_per_element: int = 1) -> int | None:
    fitting = []
    for size in sizes:
        try:
            if peak_activation(net, (3, size, size)) <= sram_bytes:
                fitting.append(size)
        except RuntimeError:
            continue
    return max(fitting, default=None)
''',
        # largest first, but a failing size ends the search
        '''
def largest_input_that_fits(net: nn.Module, sram_bytes: int, sizes: list[int],
                            bytes_per_element: int = 1) -> int | None:
    for size in sorted(sizes, reverse=True):
        try:
            if peak_activation(net, (3, size, size), bytes_per_element) <= sram_bytes:
                return size
        except RuntimeError:
            return None
    return None
''',
    ],
}
