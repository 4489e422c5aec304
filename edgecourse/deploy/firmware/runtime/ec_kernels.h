/* Int8 kernels of the code-generation route (edgecourse): C99, no malloc, no floats.
 * Each one computes what TFLM's reference kernel for the same op computes, rounding included,
 * so the outputs equal TFLM's bit for bit.
 *
 * Speed: CONV_2D and FULLY_CONNECTED copy each receptive field once into a column of int16
 * values (input offset added, zeros where TFLM skips padding), then take dot products with
 * weight rows the generator laid out for the inner loop: each row padded with zeros to a
 * multiple of 4, every group of 4 stored as w0 w2 w1 w3, and the rows of each pair of output
 * channels interleaved group by group (a last odd row follows alone). On a core with the DSP
 * extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33) one 32-bit load and two SXTB16 widen 4
 * weights into the pairs (w0, w1) and (w2, w3), and SMLAD multiplies and accumulates a pair in
 * one instruction; two output pixels times two output channels share each load. Elsewhere (or
 * with -DEC_PORTABLE) plain C computes the same sums. DEPTHWISE_CONV_2D reads the same padded
 * int16 copy of its input as CONV_2D's columns; MAX_POOL_2D compares 4 channels per SSUB8 + SEL.
 *
 * Sparse layers (pruned weights, `--sparse`): the _sparse kernels keep only the nonzero
 * weights of each output channel (CSR: values, their input offsets, a count per channel) and
 * read the input in place, one multiply-accumulate per nonzero weight. */
#ifndef EC_KERNELS_H
#define EC_KERNELS_H

#include <stdint.h>

/* Weight rows and columns are read 32 bits at a time: keep them 4-byte aligned. */
#if defined(__GNUC__)
#define EC_ALIGN4 __attribute__((aligned(4)))
#else
#define EC_ALIGN4
#endif

/* A convolution-like layer (CONV_2D, DEPTHWISE_CONV_2D): shapes, quantization, weights. */
typedef struct {
  int in_h, in_w, in_c, out_h, out_w, out_c, f_h, f_w;
  int stride_h, stride_w, dil_h, dil_w, pad_h, pad_w, depth_multiplier;
  int32_t in_offset, out_offset, act_min, act_max;
  int32_t row;            /* conv: f_h * f_w * in_c rounded up to a multiple of 4 */
  int padded_h, padded_w; /* the input inside its zero border, as the kernels copy it */
  const int8_t *filter;   /* conv: out_c packed rows (see above); depthwise: 1HWO */
  const int32_t *bias;    /* NULL when the model has none */
  const int32_t *mult;    /* per output channel fixed-point multiplier */
  const int32_t *shift;   /* per output channel power-of-two exponent */
  int16_t *column;        /* scratch: conv's two columns, out_c int32 sums (conv: two per
                           * channel), the padded input */
} ec_conv_t;

/* A pooling layer (MAX_POOL_2D, AVERAGE_POOL_2D). */
typedef struct {
  int in_h, in_w, c, out_h, out_w, f_h, f_w, stride_h, stride_w, pad_h, pad_w;
  int32_t act_min, act_max;
} ec_pool_t;

/* FULLY_CONNECTED: out[b][o] = sum_d w[o][d] (x[b][d] + in_offset) + bias[o] (int8 weights
 * are symmetric: their zero point is 0). */
typedef struct {
  int batches, depth, units, per_channel;
  int32_t in_offset, out_offset, act_min, act_max;
  int32_t row;            /* depth rounded up to a multiple of 4 */
  const int8_t *filter;   /* units packed rows (see above) */
  const int32_t *bias;
  const int32_t *mult;
  const int32_t *shift;
  int16_t *column;        /* scratch: one column (row int16), then 2 * units int16 */
} ec_fc_t;

/* SOFTMAX on int8 (gemmlowp fixed point, as TFLM's reference kernel). */
typedef struct {
  int rows, depth;
  int32_t input_multiplier, input_left_shift, diff_min;
} ec_softmax_t;

/* Compressed sparse rows: output channel o owns the next count[o] values; index[k] is the
 * offset of value k's input (conv: in the padded int16 input from the receptive field's top
 * left corner; fully connected: in the int8 input row). */
typedef struct {
  const int8_t *values;
  const uint16_t *index;
  const uint16_t *count;
} ec_csr_t;

typedef struct {
  ec_conv_t conv; /* .filter unused; .column holds the padded input */
  ec_csr_t csr;
} ec_conv_sparse_t;

typedef struct {
  ec_fc_t fc; /* .filter and .column unused; .bias has in_offset * (row sum) folded in */
  ec_csr_t csr;
} ec_fc_sparse_t;

/* TFLM's MultiplyByQuantizedMultiplier for multiplier >= 0: x * multiplier * 2^(shift - 31). */
int32_t ec_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift);
void ec_conv2d(const ec_conv_t *p, const int8_t *in, int8_t *out);
void ec_depthwise_conv2d(const ec_conv_t *p, const int8_t *in, int8_t *out);
void ec_max_pool2d(const ec_pool_t *p, const int8_t *in, int8_t *out);
void ec_average_pool2d(const ec_pool_t *p, const int8_t *in, int8_t *out);
void ec_fully_connected(const ec_fc_t *p, const int8_t *in, int8_t *out);
void ec_softmax(const ec_softmax_t *p, const int8_t *in, int8_t *out);
void ec_conv2d_sparse(const ec_conv_sparse_t *p, const int8_t *in, int8_t *out);
void ec_fully_connected_sparse(const ec_fc_sparse_t *p, const int8_t *in, int8_t *out);

#endif /* EC_KERNELS_H */
