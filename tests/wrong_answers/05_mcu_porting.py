"""Plausible wrong answers for lesson 05_mcu_porting: each must lose all its exercise's points."""

# The solution's fc_int8 with one line changed (or a few): each is a mistake a student makes.
_FC = r'''
FC_KERNEL_C = r"""
void fc_int8(const int8_t *x, const int8_t *w, const int32_t *bias,
             const int32_t *multiplier, const int32_t *shift, int depth, int units,
             int32_t in_offset, int32_t out_offset, int32_t act_min, int32_t act_max,
             int8_t *y) {
  for (int o = 0; o < units; ++o) {
    int32_t acc = bias[o];
    for (int d = 0; d < depth; ++d) acc += w[o * depth + d] * (x[d] + in_offset);
    const int32_t left = shift[o] > 0 ? shift[o] : 0;
    const int32_t right = shift[o] > 0 ? 0 : -shift[o];
    acc = rounding_divide_by_pot(srdhm((int32_t)((uint32_t)acc << left), multiplier[o]), right);
    acc += out_offset;
    acc = acc < act_min ? act_min : acc;
    acc = acc > act_max ? act_max : acc;
    y[o] = (int8_t)acc;
  }
}
"""
'''
_ACC = "acc += w[o * depth + d] * (x[d] + in_offset);"
_REQUANT = ("acc = rounding_divide_by_pot(srdhm((int32_t)((uint32_t)acc << left), multiplier[o]), "
            "right);")
_CLAMP = ("    acc = acc < act_min ? act_min : acc;\n"
          "    acc = acc > act_max ? act_max : acc;\n")


def _fc(*edits: tuple[str, str]) -> str:
    source = _FC
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    return source


_QUANTIZE = '''
def quantize_images(X, scale: float, zero_point: int) -> np.ndarray:
    """Return the NCHW float images X as the model's int8 NHWC input (half away from zero)."""
    X = np.asarray(X, dtype=np.float64)
    {body}
'''

_ARENA = '''
def chain_arena_bytes(model) -> int:
    """Return max over operators of (activation inputs + outputs) bytes, each rounded up to 4."""
    def aligned(i: int) -> int:
        return -(-model.tensors[i].nbytes // 4) * 4

    best = 0
    for op in model.operators:
        {body}
    return best
'''

_DATA = '''
def model_data_cc(model_bytes: bytes, name: str) -> dict[str, str]:
    """Return model_data.h and model_data.cc holding the model as g_<name>_model_data."""
    hexes = [{literal} for b in model_bytes]
    body = ",\\n".join("    " + ", ".join(hexes[i:i + 12]) for i in range(0, len(hexes), 12))
    header = (f"constexpr unsigned int {size} = {{len(model_bytes)}};\\n"
              f"extern const unsigned char {array}[];\\n")
    source = (f'{include}'
              f"{align}const unsigned char {array}[] = {{{{\\n{{body}}\\n}}}};\\n")
    return {{"model_data.h": header, "model_data.cc": source}}
'''


def _data(literal='f"0x{b:02x}"', size="g_{name}_model_data_size", array="g_{name}_model_data",
          include='#include "model_data.h"\\n', align="alignas(16) ") -> str:
    return _DATA.format(literal=literal, size=size, array=array, include=include, align=align)


_FIRMWARE = '''
def firmware_sources(model_bytes: bytes, name: str, measured_arena_bytes: int,
                     ram_budget: int) -> dict[str, str]:
    """Return the TFLM firmware files; raise ValueError if the arena exceeds ram_budget."""
    ops = {ops}
    calls = "".join(f"  TF_LITE_ENSURE_STATUS(op_resolver.{{resolver_method(op)}}());\\n"
                    for op in ops)
    resolver = ('#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\\n'
                f"constexpr int kNumberOperators = {{{count}}};\\n"
                "using ModelOpResolver = tflite::MicroMutableOpResolver<kNumberOperators>;\\n"
                "inline TfLiteStatus RegisterOps(ModelOpResolver& op_resolver) {{\\n"
                f"{{calls}}  return kTfLiteOk;\\n}}}}\\n")
    project = generate_tflm(model_bytes, name, measured_arena_bytes=measured_arena_bytes)
    if {too_big}:
        raise ValueError("the arena does not fit the RAM budget")
    mine = ("model_data.h", "model_data.cc", "op_resolver.h")
    files = {{k: text for k, text in project.files.items() if k not in mine}}
    return {{**model_data_cc(model_bytes, {data_name}), "op_resolver.h": resolver, **files}}
'''


def _firmware(ops="list(reversed(load_tflite(model_bytes).ops))", count="len(ops)",
              too_big="project.arena_bytes > ram_budget", data_name="name") -> str:
    """A firmware_sources; the default is right (the Add calls in reverse order are fine)."""
    return _FIRMWARE.format(ops=ops, count=count, too_big=too_big, data_name=data_name)


_RANKING = '''
ROUTES = ("generated C", "TFLM reference", "TFLM cmsis-nn")
PREDICTED_RANKING = {{
    "flash": {flash},
    "ram": {ram},
    "instructions": {instructions},
}}
'''
_C, _REF, _CMSIS = '"generated C"', '"TFLM reference"', '"TFLM cmsis-nn"'


def _ranking(flash=(_C, _REF, _CMSIS), ram=(_C, _CMSIS, _REF),
             instructions=(_C, _CMSIS, _REF)) -> str:
    return _RANKING.format(**{k: "[" + ", ".join(v) + "]" for k, v in
                              {"flash": flash, "ram": ram, "instructions": instructions}.items()})


WRONG = {
    "quantize_images": [
        # np.round rounds halves to even; TFLite rounds them away from zero.
        _QUANTIZE.format(body="return np.clip(np.round(X.transpose(0, 2, 3, 1) / scale) + "
                              "zero_point, -128, 127).astype(np.int8)"),
        # A reshape is a transpose only for one channel: 3-channel images get scrambled.
        _QUANTIZE.format(body="n, c, h, w = X.shape\n    q = X.reshape(n, h, w, c) / scale\n"
                              "    q = np.sign(q) * np.floor(np.abs(q) + 0.5) + zero_point\n"
                              "    return np.clip(q, -128, 127).astype(np.int8)"),
        # H and W swapped: (0, 3, 2, 1) is NWHC, the same shape only for square images.
        _QUANTIZE.format(body="q = X.transpose(0, 3, 2, 1) / scale\n"
                              "    q = np.sign(q) * np.floor(np.abs(q) + 0.5) + zero_point\n"
                              "    return np.clip(q, -128, 127).astype(np.int8)"),
        # The zero point added before rounding: halves now round around the zero point.
        _QUANTIZE.format(body="q = X.transpose(0, 2, 3, 1) / scale + zero_point\n"
                              "    q = np.sign(q) * np.floor(np.abs(q) + 0.5)\n"
                              "    return np.clip(q, -128, 127).astype(np.int8)"),
        # No clip: astype(np.int8) wraps 1000 around to -24.
        _QUANTIZE.format(body="q = X.transpose(0, 2, 3, 1) / scale\n"
                              "    return (np.sign(q) * np.floor(np.abs(q) + 0.5) + zero_point)"
                              ".astype(np.int8)"),
        # floor(q + 0.5) rounds negative halves up (towards +inf), not away from zero.
        _QUANTIZE.format(body="q = np.floor(X.transpose(0, 2, 3, 1) / scale + 0.5) + zero_point\n"
                              "    return np.clip(q, -128, 127).astype(np.int8)"),
        # The right values in an int32 array.
        _QUANTIZE.format(body="q = X.transpose(0, 2, 3, 1) / scale\n"
                              "    q = np.sign(q) * np.floor(np.abs(q) + 0.5) + zero_point\n"
                              "    return np.clip(q, -128, 127).astype(np.int32)"),
        # Delegates to the library's quantize (lesson 04): right values, no points.
        """
from edgecourse.lab.arithmetic import quantize


def quantize_images(X, scale: float, zero_point: int) -> np.ndarray:
    return quantize(np.asarray(X, dtype=np.float64).transpose(0, 2, 3, 1), scale, zero_point)
""",
    ],
    "FC_KERNEL_C": [
        # Forgets the input offset (the input's zero point): every accumulator is off.
        _fc((_ACC, "acc += w[o * depth + d] * x[d];"),
            ("    int32_t acc = bias[o];", "    int32_t acc = bias[o];\n    (void)in_offset;")),
        # Subtracts in_offset (it already is -z_x).
        _fc((_ACC, "acc += w[o * depth + d] * (x[d] - in_offset);")),
        # Reads the weights transposed (w[d][o]): only square layers would pass.
        _fc((_ACC, "acc += w[d * units + o] * (x[d] + in_offset);")),
        # No clamp: the cast to int8 wraps around and the fused ReLU is lost.
        _fc((_CLAMP, "    (void)act_min;\n    (void)act_max;\n")),
        # The output offset added before requantizing.
        _fc(("  for (int o = 0; o < units; ++o) {\n    int32_t acc = bias[o];",
             "  for (int o = 0; o < units; ++o) {\n    int32_t acc = bias[o] + out_offset;"),
            ("    acc += out_offset;\n", "")),
        # One rounding step in double precision instead of TFLM's two integer steps.
        _fc((_REQUANT, "(void)srdhm; (void)rounding_divide_by_pot;\n"
                       "    double v = acc * (multiplier[o] / 2147483648.0);\n"
                       "    for (int s = 0; s < left; ++s) v *= 2;\n"
                       "    for (int s = 0; s < right; ++s) v /= 2;\n"
                       "    acc = v >= 0 ? (int32_t)(v + 0.5) : -(int32_t)(-v + 0.5);")),
        # The left shift applied after the multiply: rounds away the low bits first.
        _fc((_REQUANT, "acc = rounding_divide_by_pot(srdhm(acc, multiplier[o]), right) "
                       "* (1 << left);")),
        # A plain arithmetic shift instead of the rounding divide: rounds down, not to nearest.
        _fc((_REQUANT, "(void)rounding_divide_by_pot;\n"
                       "    acc = srdhm((int32_t)((uint32_t)acc << left), multiplier[o]) >> right;")),
        # Copies the course's own C kernels instead of writing fc_int8.
        """
from edgecourse.deploy.firmware.templating import runtime_text

FC_KERNEL_C = runtime_text("ec_kernels.c")
""",
    ],
    "chain_arena_bytes": [
        # Counts the constant inputs (weights, biases, the reshape's shape) as arena bytes.
        _ARENA.format(body="live = [i for i in op.inputs if i >= 0]\n"
                           "        best = max(best, sum(aligned(i) for i in live + "
                           "list(op.outputs)))"),
        # Rounds the op's sum up to 4 instead of each tensor.
        _ARENA.format(body="live = [i for i in op.inputs if i >= 0 and not "
                           "model.tensors[i].is_constant]\n"
                           "        total = sum(model.tensors[i].nbytes for i in live + "
                           "list(op.outputs))\n"
                           "        best = max(best, -(-total // 4) * 4)"),
        # Element count instead of bytes: a float32 tensor takes 4 bytes per value.
        _ARENA.format(body="live = [i for i in op.inputs if i >= 0 and not "
                           "model.tensors[i].is_constant]\n"
                           "        best = max(best, sum(-(-model.tensors[i].size // 4) * 4 "
                           "for i in live + list(op.outputs)))"),
        # Only the first input and the first output of each op.
        _ARENA.format(body="best = max(best, aligned(op.inputs[0]) + aligned(op.outputs[0]))"),
        # -1 taken as a tensor index (Python reads the last tensor).
        _ARENA.format(body="live = [i for i in op.inputs if not model.tensors[i].is_constant]\n"
                           "        best = max(best, sum(aligned(i) for i in live + "
                           "list(op.outputs)))"),
        # No alignment at all.
        _ARENA.format(body="live = [i for i in op.inputs if i >= 0 and not "
                           "model.tensors[i].is_constant]\n"
                           "        best = max(best, sum(model.tensors[i].nbytes for i in live + "
                           "list(op.outputs)))"),
        # Sums over the ops: one buffer per tensor, no sharing.
        _ARENA.format(body="live = [i for i in op.inputs if i >= 0 and not "
                           "model.tensors[i].is_constant]\n"
                           "        best += sum(aligned(i) for i in live + list(op.outputs))"),
        # Delegates to the generated C's buffer planner: the right number, no points.
        """
def chain_arena_bytes(model) -> int:
    return plan_buffers(model).arena_bytes
""",
    ],
    "model_data_cc": [
        # Off by one: the last byte of the model is dropped.
        '''
def model_data_cc(model_bytes: bytes, name: str) -> dict[str, str]:
    """Return model_data.h and model_data.cc holding the model as g_<name>_model_data."""
    body = ", ".join(f"0x{b:02x}" for b in model_bytes[:-1])
    header = (f"constexpr unsigned int g_{name}_model_data_size = {len(model_bytes)};\\n"
              f"extern const unsigned char g_{name}_model_data[];\\n")
    source = (f'#include "model_data.h"\\n'
              f"alignas(16) const unsigned char g_{name}_model_data[] = {{{body}}};\\n")
    return {"model_data.h": header, "model_data.cc": source}
''',
        # Forgets alignas(16): TFLM reads the flatbuffer's tables in place.
        _data(align=""),
        # Decimal literals instead of 0x.. bytes.
        _data(literal="str(b)"),
        # The size constant named like the array, without _model_data.
        _data(size="g_{name}_size"),
        # model_data.cc does not include model_data.h: the const array has internal linkage in
        # C++, and main.cc's extern declaration finds nothing at link time.
        _data(include=""),
        # The array named after the model only (no g_ prefix, no _model_data).
        _data(array="{name}"),
        # Takes the two files from generate_tflm instead of writing them.
        """
def model_data_cc(model_bytes: bytes, name: str) -> dict[str, str]:
    files = generate_tflm(model_bytes, name, measured_arena_bytes=1000).files
    return {k: files[k] for k in ("model_data.h", "model_data.cc")}
""",
    ],
    "firmware_sources": [
        # One Add...() per operator instead of per distinct op: CONV_2D, MAX_POOL_2D and
        # FULLY_CONNECTED registered twice, and the resolver's N too large.
        _firmware(ops="[op.op for op in load_tflite(model_bytes).operators]"),
        # Checks the measured arena, without the 1 KiB margin, against the budget.
        _firmware(too_big="measured_arena_bytes > ram_budget"),
        # An arena that takes exactly the budget is rejected.
        _firmware(too_big="project.arena_bytes >= ram_budget"),
        # Never raises.
        _firmware(too_big="False"),
        # The Add calls deduplicated but N counts every operator.
        _firmware(count="len(load_tflite(model_bytes).operators)"),
        # RESHAPE "computes nothing", so it is left out: AllocateTensors fails on the device.
        _firmware(ops='[op for op in load_tflite(model_bytes).ops if op != "RESHAPE"]'),
        # The model array named "model" instead of the name main.cc uses.
        _firmware(data_name='"model"'),
        # Takes generate_tflm's op_resolver.h (and model files) instead of writing them.
        '''
def firmware_sources(model_bytes: bytes, name: str, measured_arena_bytes: int,
                     ram_budget: int) -> dict[str, str]:
    """Return the TFLM firmware files; raise ValueError if the arena exceeds ram_budget."""
    project = generate_tflm(model_bytes, name, measured_arena_bytes=measured_arena_bytes)
    if project.arena_bytes > ram_budget:
        raise ValueError("the arena does not fit the RAM budget")
    return dict(project.files)
''',
    ],
    "PREDICTED_RANKING": [
        # "Arm's hand-written kernels beat generated code": CMSIS-NN ranked fastest.
        _ranking(instructions=(_CMSIS, _C, _REF)),
        # "Optimized kernels are smaller": CMSIS-NN's image below the reference kernels'.
        _ranking(flash=(_C, _CMSIS, _REF)),
        # The interpreter's arena planner is "smarter" than the generated C's static arena.
        _ranking(ram=(_CMSIS, _C, _REF)),
        # The interpreter's overhead is all there is: both TFLM builds slower than the C.
        _ranking(instructions=(_C, _REF, _CMSIS)),
        # A route misspelled: not one of ROUTES.
        _ranking(flash=(_C, '"TFLM"', _CMSIS)),
    ],
}
