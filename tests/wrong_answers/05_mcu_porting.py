"""Plausible wrong answers for lesson 05_mcu_porting: each must lose all its exercise's points."""

WRONG = {
    # np.round rounds halves to even; TFLite rounds them away from zero.
    "quantize_images": '''
def quantize_images(X, scale: float, zero_point: int) -> np.ndarray:
    """Return the NCHW float images X as the model's int8 NHWC input (half away from zero)."""
    X = np.asarray(X, dtype=np.float64).transpose(0, 2, 3, 1)
    return np.clip(np.round(X / scale) + zero_point, -128, 127).astype(np.int8)
''',
    # Forgets the input offset (the input's zero point): every accumulator is off.
    "FC_KERNEL_C": '''
FC_KERNEL_C = r"""
void fc_int8(const int8_t *x, const int8_t *w, const int32_t *bias,
             const int32_t *multiplier, const int32_t *shift, int depth, int units,
             int32_t in_offset, int32_t out_offset, int32_t act_min, int32_t act_max,
             int8_t *y) {
  (void)in_offset;
  for (int o = 0; o < units; ++o) {
    int32_t acc = bias[o];
    for (int d = 0; d < depth; ++d) acc += w[o * depth + d] * x[d];
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
''',
    # Counts the constant inputs (weights, biases, the reshape's shape) as arena bytes.
    "chain_arena_bytes": '''
def chain_arena_bytes(model) -> int:
    """Return max over operators of (activation inputs + outputs) bytes, each rounded up to 4."""
    best = 0
    for op in model.operators:
        tensors = [i for i in op.inputs if i >= 0] + list(op.outputs)
        best = max(best, sum(-(-model.tensors[i].nbytes // 4) * 4 for i in tensors))
    return best
''',
    # Off by one: the last byte of the model is dropped.
    "model_data_cc": '''
def model_data_cc(model_bytes: bytes, name: str) -> dict[str, str]:
    """Return model_data.h and model_data.cc holding the model as g_<name>_model_data."""
    body = ", ".join(f"0x{b:02x}" for b in model_bytes[:-1])
    header = (f"constexpr unsigned int g_{name}_model_data_size = {len(model_bytes)};\\n"
              f"extern const unsigned char g_{name}_model_data[];\\n")
    source = (f'#include "model_data.h"\\n'
              f"alignas(16) const unsigned char g_{name}_model_data[] = {{{body}}};\\n")
    return {"model_data.h": header, "model_data.cc": source}
''',
    # One Add...() per operator instead of per distinct op: CONV_2D, MAX_POOL_2D and
    # FULLY_CONNECTED registered twice, and the resolver's N too large.
    "firmware_sources": '''
def firmware_sources(model_bytes: bytes, name: str, measured_arena_bytes: int,
                     ram_budget: int) -> dict[str, str]:
    """Return the TFLM firmware files; raise ValueError if the arena exceeds ram_budget."""
    ops = [op.op for op in load_tflite(model_bytes).operators]
    calls = "".join(f"  TF_LITE_ENSURE_STATUS(op_resolver.{resolver_method(op)}());\\n"
                    for op in ops)
    resolver = ('#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\\n'
                f"constexpr int kNumberOperators = {len(ops)};\\n"
                "using ModelOpResolver = tflite::MicroMutableOpResolver<kNumberOperators>;\\n"
                "inline TfLiteStatus RegisterOps(ModelOpResolver& op_resolver) {\\n"
                f"{calls}  return kTfLiteOk;\\n}}\\n")
    project = generate_tflm(model_bytes, name, measured_arena_bytes=measured_arena_bytes)
    if project.arena_bytes > ram_budget:
        raise ValueError("arena does not fit")
    mine = ("model_data.h", "model_data.cc", "op_resolver.h")
    files = {k: text for k, text in project.files.items() if k not in mine}
    return {**model_data_cc(model_bytes, name), "op_resolver.h": resolver, **files}
''',
    # Takes the lecture's "slight overhead" literally: the generated C is the fastest route and
    # CMSIS-NN only narrows the interpreter's gap.
    "PREDICTED_RANKING": '''
ROUTES = ("generated C", "TFLM reference", "TFLM cmsis-nn")
PREDICTED_RANKING = {
    "flash": ["generated C", "TFLM reference", "TFLM cmsis-nn"],
    "ram": ["generated C", "TFLM reference", "TFLM cmsis-nn"],
    "instructions": ["generated C", "TFLM cmsis-nn", "TFLM reference"],
}
''',
}
