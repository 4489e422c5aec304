/* Int8 kernels of the code-generation route (edgecourse). See ec_kernels.h. */
#include "ec_kernels.h"

#include <stddef.h>

static int32_t ec_min(int32_t a, int32_t b) { return a < b ? a : b; }
static int32_t ec_max(int32_t a, int32_t b) { return a > b ? a : b; }

/* gemmlowp SaturatingRoundingDoublingHighMul: the high 32 bits of 2*a*b, rounded. */
static int32_t ec_srdhm(int32_t a, int32_t b) {
  int64_t ab;
  int32_t nudge;
  if (a == b && a == INT32_MIN) return INT32_MAX;
  ab = (int64_t)a * (int64_t)b;
  nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, rounded half away from zero. */
static int32_t ec_rdbpot(int32_t x, int32_t exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM's MultiplyByQuantizedMultiplier (double rounding): x * multiplier * 2^(shift - 31). */
int32_t ec_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  return ec_rdbpot(ec_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

static int8_t ec_requantize(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset,
                            int32_t act_min, int32_t act_max) {
  acc = ec_multiply_by_quantized_multiplier(acc, mult, shift) + out_offset;
  return (int8_t)ec_min(ec_max(acc, act_min), act_max);
}

void ec_conv2d(const ec_conv_t *p, const int8_t *in, int8_t *out) {
  int oy, ox, oc, fy, fx, ic;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      const int y0 = oy * p->stride_h - p->pad_h;
      const int x0 = ox * p->stride_w - p->pad_w;
      for (oc = 0; oc < p->out_c; ++oc) {
        int32_t acc = 0;
        for (fy = 0; fy < p->f_h; ++fy) {
          const int y = y0 + p->dil_h * fy;
          if (y < 0 || y >= p->in_h) continue;
          for (fx = 0; fx < p->f_w; ++fx) {
            const int x = x0 + p->dil_w * fx;
            const int8_t *pixel = in + (y * p->in_w + x) * p->in_c;
            const int8_t *w = p->filter + ((oc * p->f_h + fy) * p->f_w + fx) * p->in_c;
            if (x < 0 || x >= p->in_w) continue;
            for (ic = 0; ic < p->in_c; ++ic) acc += w[ic] * (pixel[ic] + p->in_offset);
          }
        }
        if (p->bias != NULL) acc += p->bias[oc];
        out[(oy * p->out_w + ox) * p->out_c + oc] = ec_requantize(
            acc, p->mult[oc], p->shift[oc], p->out_offset, p->act_min, p->act_max);
      }
    }
  }
}

void ec_depthwise_conv2d(const ec_conv_t *p, const int8_t *in, int8_t *out) {
  int oy, ox, ic, m, fy, fx;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      const int y0 = oy * p->stride_h - p->pad_h;
      const int x0 = ox * p->stride_w - p->pad_w;
      for (ic = 0; ic < p->in_c; ++ic) {
        for (m = 0; m < p->depth_multiplier; ++m) {
          const int oc = ic * p->depth_multiplier + m;
          int32_t acc = 0;
          for (fy = 0; fy < p->f_h; ++fy) {
            const int y = y0 + p->dil_h * fy;
            if (y < 0 || y >= p->in_h) continue;
            for (fx = 0; fx < p->f_w; ++fx) {
              const int x = x0 + p->dil_w * fx;
              if (x < 0 || x >= p->in_w) continue;
              acc += p->filter[(fy * p->f_w + fx) * p->out_c + oc] *
                     (in[(y * p->in_w + x) * p->in_c + ic] + p->in_offset);
            }
          }
          if (p->bias != NULL) acc += p->bias[oc];
          out[(oy * p->out_w + ox) * p->out_c + oc] = ec_requantize(
              acc, p->mult[oc], p->shift[oc], p->out_offset, p->act_min, p->act_max);
        }
      }
    }
  }
}

/* Pooling windows are clipped to the input (padding never counts, as in TFLM). */
static void ec_pool2d(const ec_pool_t *p, const int8_t *in, int8_t *out, int average) {
  int oy, ox, c, fy, fx;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      const int y0 = oy * p->stride_h - p->pad_h;
      const int x0 = ox * p->stride_w - p->pad_w;
      const int fy0 = ec_max(0, -y0), fy1 = ec_min(p->f_h, p->in_h - y0);
      const int fx0 = ec_max(0, -x0), fx1 = ec_min(p->f_w, p->in_w - x0);
      for (c = 0; c < p->c; ++c) {
        int32_t acc = average ? 0 : -128;
        int32_t count = 0;
        for (fy = fy0; fy < fy1; ++fy) {
          for (fx = fx0; fx < fx1; ++fx) {
            const int32_t v = in[((y0 + fy) * p->in_w + x0 + fx) * p->c + c];
            if (average) acc += v; else acc = ec_max(acc, v);
            ++count;
          }
        }
        if (average && count > 0) {
          /* Round to nearest, half away from zero (TFLM's reference average pool). */
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        }
        out[(oy * p->out_w + ox) * p->c + c] = (int8_t)ec_min(ec_max(acc, p->act_min), p->act_max);
      }
    }
  }
}

void ec_max_pool2d(const ec_pool_t *p, const int8_t *in, int8_t *out) { ec_pool2d(p, in, out, 0); }

void ec_average_pool2d(const ec_pool_t *p, const int8_t *in, int8_t *out) {
  ec_pool2d(p, in, out, 1);
}

void ec_fully_connected(const ec_fc_t *p, const int8_t *in, int8_t *out) {
  int b, o, d;
  for (b = 0; b < p->batches; ++b) {
    for (o = 0; o < p->units; ++o) {
      const int8_t *w = p->filter + o * p->depth;
      const int8_t *x = in + b * p->depth;
      const int k = p->per_channel ? o : 0;
      int32_t acc = 0;
      for (d = 0; d < p->depth; ++d) acc += (w[d] + p->filter_offset) * (x[d] + p->in_offset);
      if (p->bias != NULL) acc += p->bias[o];
      out[b * p->units + o] = ec_requantize(acc, p->mult[k], p->shift[k], p->out_offset,
                                            p->act_min, p->act_max);
    }
  }
}

/* ---- gemmlowp fixed point for softmax: raw int32 values, integer bits tracked by hand ---- */

/* SaturatingRoundingMultiplyByPOT with a positive exponent: a saturating left shift. */
static int32_t ec_sat_shift_left(int32_t x, int exponent) {
  const int32_t threshold = INT32_MAX >> exponent;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), a and result with 0 integer bits. */
static int32_t ec_exp_quarter(int32_t a) {
  const int32_t constant_term = 1895147668;
  const int32_t constant_1_over_3 = 715827883;
  const int32_t x = a + (1 << 28); /* Taylor expansion around -1/8 */
  const int32_t x2 = ec_srdhm(x, x);
  const int32_t x3 = ec_srdhm(x2, x);
  const int32_t x4 = ec_srdhm(x2, x2);
  const int32_t x4_over_4 = ec_rdbpot(x4, 2);
  const int32_t poly = ec_rdbpot(ec_srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
  return constant_term + ec_srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0 with 5 integer bits (26 fractional); result with 0 integer bits. */
static int32_t ec_exp_on_negative_values(int32_t a) {
  static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                         39332535, 720401, 242};
  const int32_t one_quarter = 1 << 24;
  const int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
  const int32_t remainder = a_mod_quarter_minus_quarter - a;
  int32_t result = ec_exp_quarter(ec_sat_shift_left(a_mod_quarter_minus_quarter, 5));
  int k;
  for (k = 0; k < 7; ++k) { /* barrel shifter: exponents -2 .. +4 */
    if (remainder & (1 << (24 + k))) result = ec_srdhm(result, multipliers[k]);
  }
  return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), 0 integer bits, by Newton-Raphson (gemmlowp). */
static int32_t ec_one_over_one_plus_x(int32_t a) {
  const int64_t sum = (int64_t)a + INT32_MAX;
  const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  const int32_t constant_48_over_17 = 1515870810;
  const int32_t constant_neg_32_over_17 = -1010580540;
  int32_t x = constant_48_over_17 + ec_srdhm(half_denominator, constant_neg_32_over_17);
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t one_minus = (1 << 29) - ec_srdhm(half_denominator, x);
    x = x + ec_sat_shift_left(ec_srdhm(x, one_minus), 2);
  }
  return ec_sat_shift_left(x, 1);
}

static int ec_count_leading_zeros(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) { x <<= 1; ++n; }
  return n;
}

void ec_softmax(const ec_softmax_t *p, const int8_t *in, int8_t *out) {
  int r, c;
  for (r = 0; r < p->rows; ++r) {
    const int8_t *x = in + r * p->depth;
    int8_t *y = out + r * p->depth;
    int32_t max_in_row = -128, sum_of_exps = 0, shifted_scale;
    int headroom, num_bits_over_unit;
    for (c = 0; c < p->depth; ++c) max_in_row = ec_max(max_in_row, x[c]);
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = x[c] - max_in_row;
      if (diff >= p->diff_min) {
        const int32_t scaled = ec_srdhm((int32_t)((uint32_t)diff << p->input_left_shift),
                                        p->input_multiplier);
        sum_of_exps += ec_rdbpot(ec_exp_on_negative_values(scaled), 12);
      }
    }
    headroom = ec_count_leading_zeros((uint32_t)sum_of_exps);
    num_bits_over_unit = 12 - headroom;
    shifted_scale = ec_one_over_one_plus_x(
        (int32_t)(((uint32_t)sum_of_exps << headroom) - ((uint32_t)1 << 31)));
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = x[c] - max_in_row;
      if (diff >= p->diff_min) {
        const int32_t scaled = ec_srdhm((int32_t)((uint32_t)diff << p->input_left_shift),
                                        p->input_multiplier);
        const int32_t e = ec_exp_on_negative_values(scaled);
        const int32_t unsat = ec_rdbpot(ec_srdhm(shifted_scale, e), num_bits_over_unit + 31 - 8);
        y[c] = (int8_t)ec_min(ec_max(unsat - 128, -128), 127);
      } else {
        y[c] = -128;
      }
    }
  }
}
