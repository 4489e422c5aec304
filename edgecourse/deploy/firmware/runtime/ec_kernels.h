/* Int8 kernels of the code-generation route (edgecourse): plain C99, no malloc, no floats.
 * Each one follows TFLM's reference kernel for the same op, rounding included, so the
 * outputs equal TFLM's bit for bit. */
#ifndef EC_KERNELS_H
#define EC_KERNELS_H

#include <stdint.h>

/* A convolution-like layer (CONV_2D, DEPTHWISE_CONV_2D): shapes, quantization, weights. */
typedef struct {
  int in_h, in_w, in_c, out_h, out_w, out_c, f_h, f_w;
  int stride_h, stride_w, dil_h, dil_w, pad_h, pad_w, depth_multiplier;
  int32_t in_offset, out_offset, act_min, act_max;
  const int8_t *filter;   /* OHWI (conv) or 1HWO (depthwise) */
  const int32_t *bias;    /* NULL when the model has none */
  const int32_t *mult;    /* per output channel fixed-point multiplier */
  const int32_t *shift;   /* per output channel power-of-two exponent */
} ec_conv_t;

/* A pooling layer (MAX_POOL_2D, AVERAGE_POOL_2D). */
typedef struct {
  int in_h, in_w, c, out_h, out_w, f_h, f_w, stride_h, stride_w, pad_h, pad_w;
  int32_t act_min, act_max;
} ec_pool_t;

/* FULLY_CONNECTED: out[b][o] = sum_d (w[o][d] + w_offset) (x[b][d] + in_offset) + bias[o]. */
typedef struct {
  int batches, depth, units, per_channel;
  int32_t in_offset, filter_offset, out_offset, act_min, act_max;
  const int8_t *filter;
  const int32_t *bias;
  const int32_t *mult;
  const int32_t *shift;
} ec_fc_t;

/* SOFTMAX on int8 (gemmlowp fixed point, as TFLM's reference kernel). */
typedef struct {
  int rows, depth;
  int32_t input_multiplier, input_left_shift, diff_min;
} ec_softmax_t;

int32_t ec_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift);
void ec_conv2d(const ec_conv_t *p, const int8_t *in, int8_t *out);
void ec_depthwise_conv2d(const ec_conv_t *p, const int8_t *in, int8_t *out);
void ec_max_pool2d(const ec_pool_t *p, const int8_t *in, int8_t *out);
void ec_average_pool2d(const ec_pool_t *p, const int8_t *in, int8_t *out);
void ec_fully_connected(const ec_fc_t *p, const int8_t *in, int8_t *out);
void ec_softmax(const ec_softmax_t *p, const int8_t *in, int8_t *out);

#endif /* EC_KERNELS_H */
