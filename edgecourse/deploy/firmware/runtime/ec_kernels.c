/* Int8 kernels of the code-generation route (edgecourse). See ec_kernels.h. */
#include "ec_kernels.h"

#include <stddef.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && !defined(EC_PORTABLE)
#define EC_DSP 1
#include <arm_acle.h>
#endif

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
static inline int32_t ec_rdbpot(int32_t x, int32_t exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM's MultiplyByQuantizedMultiplier (double rounding): x * multiplier * 2^(shift - 31).
 * floor((a*b + 2^30) / 2^31) equals gemmlowp's SaturatingRoundingDoublingHighMul whenever it
 * cannot saturate (a == b == INT32_MIN), which a multiplier >= 0 never does: one SMLAL. */
static inline int32_t ec_scale(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0, right = left - shift; /* no branch */
  const int64_t product = (int64_t)(int32_t)((uint32_t)x << left) * multiplier +
                          ((int64_t)1 << 30);
  const int32_t high = (int32_t)(product >> 31);
  /* gemmlowp RoundingDivideByPOT by 2^right, as ec_rdbpot. */
  const int32_t mask = (int32_t)((1u << right) - 1u);
  const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)high >> 31);
  return (high >> right) + ((high & mask) > threshold);
}

int32_t ec_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
  return ec_scale(x, multiplier, shift);
}

/* ---- packed weight rows times int16 columns (row: a multiple of 4) ---- */

/* The requantization of one output channel, and where its outputs go. */
typedef struct {
  const int8_t *filter;
  int32_t row;
  const int32_t *bias, *mult, *shift;
  int per_channel, units;
  int32_t out_offset, act_min, act_max;
} ec_rows_t;

#if EC_DSP
static uint32_t ec_load32(const void *p) {
  uint32_t v;
  memcpy(&v, p, 4); /* one LDR */
  return v;
}

/* (w0, w1) and (w2, w3) of a group stored w0 w2 w1 w3: SXTB16, and SXTB16 with ROR #8. */
static int16x2_t ec_low_pair(uint32_t u) { return __sxtb16((int8x4_t)u); }
static int16x2_t ec_high_pair(uint32_t u) {
  int16x2_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(u));
  return r;
}

/* a[j][k] += row j . column k for the row pair at w (interleaved: 4 weights of the first row,
 * 4 of the second, ...) and columns x0, x1: 16 MACs per 8 weights. */
static void ec_dot_2x2(const int8_t *w, int32_t row, const int16_t *x0, const int16_t *x1,
                       int32_t a[2][2]) {
  int32_t s00 = a[0][0], s01 = a[0][1], s10 = a[1][0], s11 = a[1][1];
  const int8_t *const end = w + 2 * row;
  for (; w < end; w += 8, x0 += 4, x1 += 4) {
    const int16x2_t p0 = (int16x2_t)ec_load32(x0), q0 = (int16x2_t)ec_load32(x0 + 2);
    const int16x2_t p1 = (int16x2_t)ec_load32(x1), q1 = (int16x2_t)ec_load32(x1 + 2);
    uint32_t u = ec_load32(w);
    int16x2_t lo = ec_low_pair(u), hi = ec_high_pair(u);
    s00 = __smlad(hi, q0, __smlad(lo, p0, s00));
    s01 = __smlad(hi, q1, __smlad(lo, p1, s01));
    u = ec_load32(w + 4);
    lo = ec_low_pair(u);
    hi = ec_high_pair(u);
    s10 = __smlad(hi, q0, __smlad(lo, p0, s10));
    s11 = __smlad(hi, q1, __smlad(lo, p1, s11));
  }
  a[0][0] = s00, a[0][1] = s01, a[1][0] = s10, a[1][1] = s11;
}

/* a[0][0] and a[1][0] += the row pair at w times x: 8 MACs per 8 weights. */
static void ec_dot_2x1(const int8_t *w, int32_t row, const int16_t *x, int32_t a[2][2]) {
  int32_t s0 = a[0][0], s1 = a[1][0];
  const int8_t *const end = w + 2 * row;
  for (; w < end; w += 8, x += 4) {
    const int16x2_t p = (int16x2_t)ec_load32(x), q = (int16x2_t)ec_load32(x + 2);
    const uint32_t u = ec_load32(w), v = ec_load32(w + 4);
    s0 = __smlad(ec_high_pair(u), q, __smlad(ec_low_pair(u), p, s0));
    s1 = __smlad(ec_high_pair(v), q, __smlad(ec_low_pair(v), p, s1));
  }
  a[0][0] = s0, a[1][0] = s1;
}

static int32_t ec_dot(const int8_t *w, const int16_t *x, int32_t row, int32_t acc) {
  int32_t i;
  for (i = 0; i < row; i += 4) {
    const uint32_t u = ec_load32(w + i);
    acc = __smlad(ec_low_pair(u), (int16x2_t)ec_load32(x + i), acc);
    acc = __smlad(ec_high_pair(u), (int16x2_t)ec_load32(x + i + 2), acc);
  }
  return acc;
}
#else
/* Portable C: the same sums. A group of 4 weights is stored w0 w2 w1 w3. */
static int32_t ec_group(const int8_t *g, const int16_t *x) {
  return g[0] * x[0] + g[2] * x[1] + g[1] * x[2] + g[3] * x[3];
}

static int32_t ec_dot(const int8_t *w, const int16_t *x, int32_t row, int32_t acc) {
  int32_t i;
  for (i = 0; i < row; i += 4) acc += ec_group(w + i, x + i);
  return acc;
}

/* A row pair is interleaved: 4 weights of the first row, 4 of the second, ... */
static void ec_dot_2x2(const int8_t *w, int32_t row, const int16_t *x0, const int16_t *x1,
                       int32_t a[2][2]) {
  int32_t i;
  for (i = 0; i < row; i += 4, w += 8) {
    a[0][0] += ec_group(w, x0 + i);
    a[0][1] += ec_group(w, x1 + i);
    a[1][0] += ec_group(w + 4, x0 + i);
    a[1][1] += ec_group(w + 4, x1 + i);
  }
}

static void ec_dot_2x1(const int8_t *w, int32_t row, const int16_t *x, int32_t a[2][2]) {
  int32_t i;
  for (i = 0; i < row; i += 4, w += 8) {
    a[0][0] += ec_group(w, x + i);
    a[1][0] += ec_group(w + 4, x + i);
  }
}
#endif

/* acc0[o] (and acc1[o] when x1 is not NULL), o < units: bias + row o times x0 (and x1). */
static void ec_accumulate(const ec_rows_t *r, const int16_t *x0, const int16_t *x1,
                          int32_t *acc0, int32_t *acc1) {
  const int8_t *w = r->filter;
  const int32_t row = r->row, units = r->units, *const bias = r->bias;
  int o;
  for (o = 0; o + 1 < units; o += 2, w += 2 * row) {
    int32_t a[2][2];
    a[0][0] = a[0][1] = bias != NULL ? bias[o] : 0;
    a[1][0] = a[1][1] = bias != NULL ? bias[o + 1] : 0;
    if (x1 != NULL) {
      ec_dot_2x2(w, row, x0, x1, a);
      acc1[o] = a[0][1], acc1[o + 1] = a[1][1];
    } else {
      ec_dot_2x1(w, row, x0, a);
    }
    acc0[o] = a[0][0], acc0[o + 1] = a[1][0];
  }
  if (o < units) {
    const int32_t b = bias != NULL ? bias[o] : 0;
    acc0[o] = ec_dot(w, x0, row, b);
    if (x1 != NULL) acc1[o] = ec_dot(w, x1, row, b);
  }
}

/* x saturated to int8 (one SSAT on the DSP). */
static inline int32_t ec_sat8(int32_t x) {
#if EC_DSP
  return __ssat(x, 8);
#else
  return ec_min(ec_max(x, -128), 127);
#endif
}

/* acc scaled, offset and clamped to the activation range (a constant 127: one SSAT). */
static inline int8_t ec_requantize(int32_t acc, int32_t mult, int32_t shift,
                                   int32_t out_offset, int32_t act_min, int32_t act_max) {
  acc = ec_max(ec_scale(acc, mult, shift) + out_offset, act_min);
  return (int8_t)(act_max == 127 ? ec_sat8(acc) : ec_min(acc, act_max));
}

/* out[o] = the requantized acc[o], o < units (per-channel or per-tensor multipliers). */
static void ec_requantize_all(const ec_rows_t *r, const int32_t *acc, int8_t *out) {
  const int32_t out_offset = r->out_offset, act_min = r->act_min, act_max = r->act_max;
  const int32_t *const end = acc + r->units, *mult = r->mult, *shift = r->shift;
  if (r->per_channel && act_max == 127) {
    while (acc < end) *out++ = ec_requantize(*acc++, *mult++, *shift++, out_offset, act_min, 127);
  } else if (r->per_channel) {
    while (acc < end) {
      *out++ = ec_requantize(*acc++, *mult++, *shift++, out_offset, act_min, act_max);
    }
  } else {
    while (acc < end) *out++ = ec_requantize(*acc++, *mult, *shift, out_offset, act_min, act_max);
  }
}

/* n int16 values from s to d, two per 32-bit load and store. */
static inline void ec_copy16(int16_t *d, const int16_t *s, int32_t n) {
  int32_t i;
  for (i = 0; i + 1 < n; i += 2) {
    uint32_t v;
    memcpy(&v, s + i, 4);
    memcpy(d + i, &v, 4);
  }
  if (i < n) d[i] = s[i];
}

/* The input as int16 with the offset added, inside a border of zeros (TFLM skips padded
 * pixels: they add 0), so that every receptive field is whole rows of it. */
static void ec_pad_input(const ec_conv_t *p, const int8_t *in, int16_t *padded) {
  const int32_t run = p->in_w * p->in_c, offset = p->in_offset;
  int y, i;
  memset(padded, 0, (size_t)(p->padded_h * p->padded_w * p->in_c) * sizeof *padded);
  for (y = 0; y < p->in_h; ++y) {
    int16_t *d = padded + ((y + p->pad_h) * p->padded_w + p->pad_w) * p->in_c;
    const int8_t *s = in + y * run;
    for (i = 0; i < run; ++i) d[i] = (int16_t)(s[i] + offset);
  }
}

/* im2col of output pixel (oy, ox) from the padded input; the zero tail up to row is written
 * once by the caller. */
static inline void ec_im2col(const ec_conv_t *p, const int16_t *padded, int wp, int oy, int ox,
                             int16_t *c) {
  const int32_t run = p->f_w * p->in_c;
  const int16_t *top = padded + (oy * p->stride_h * wp + ox * p->stride_w) * p->in_c;
  int fy, fx;
  for (fy = 0; fy < p->f_h; ++fy, c += run) {
    const int16_t *s = top + fy * p->dil_h * wp * p->in_c;
    if (p->dil_w == 1) {
      ec_copy16(c, s, run); /* the row's taps are contiguous */
    } else {
      for (fx = 0; fx < p->f_w; ++fx) {
        ec_copy16(c + fx * p->in_c, s + fx * p->dil_w * p->in_c, p->in_c);
      }
    }
  }
}

void ec_conv2d(const ec_conv_t *p, const int8_t *in, int8_t *out) {
  const int32_t k = p->f_h * p->f_w * p->in_c, pixels = p->out_h * p->out_w;
  const int wp = p->padded_w;
  const ec_rows_t r = {p->filter, p->row, p->bias, p->mult, p->shift, 1, p->out_c,
                       p->out_offset, p->act_min, p->act_max};
  int16_t *x0 = p->column, *x1 = p->column + p->row;
  int32_t *acc0 = (int32_t *)(void *)(p->column + 2 * p->row), *acc1 = acc0 + p->out_c;
  int16_t *padded = (int16_t *)(void *)(acc1 + p->out_c);
  int32_t i;
  ec_pad_input(p, in, padded);
  memset(x0 + k, 0, (size_t)(p->row - k) * sizeof *x0); /* the rows' zero padding */
  memset(x1 + k, 0, (size_t)(p->row - k) * sizeof *x1);
  for (i = 0; i < pixels; i += 2) { /* two output pixels at a time */
    const int two = i + 1 < pixels;
    ec_im2col(p, padded, wp, i / p->out_w, i % p->out_w, x0);
    if (two) ec_im2col(p, padded, wp, (i + 1) / p->out_w, (i + 1) % p->out_w, x1);
    ec_accumulate(&r, x0, two ? x1 : NULL, acc0, acc1);
    ec_requantize_all(&r, acc0, out + i * p->out_c);
    if (two) ec_requantize_all(&r, acc1, out + (i + 1) * p->out_c);
  }
}

void ec_depthwise_conv2d(const ec_conv_t *p, const int8_t *in, int8_t *out) {
  const int wp = p->padded_w;
  const ec_rows_t r = {p->filter, 0, p->bias, p->mult, p->shift, 1, p->out_c,
                       p->out_offset, p->act_min, p->act_max};
  const int dm = p->depth_multiplier, out_c = p->out_c, in_c = p->in_c;
  const int f_h = p->f_h, f_w = p->f_w, stride_h = p->stride_h, stride_w = p->stride_w;
  const int row_step = p->dil_h * wp * in_c, tap_step = p->dil_w * in_c;
  const int8_t *const filter = p->filter;
  const int32_t *const bias = p->bias;
  int32_t *acc = (int32_t *)(void *)p->column;
  int16_t *padded = (int16_t *)(void *)(acc + out_c);
  int oy, ox, oc, fy, fx;
  ec_pad_input(p, in, padded);
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      const int16_t *top = padded + (oy * stride_h * wp + ox * stride_w) * in_c;
      for (oc = 0; oc < out_c; ++oc) {
        const int16_t *x = top + oc / dm;
        const int8_t *w = filter + oc;
        int32_t sum = bias != NULL ? bias[oc] : 0;
        for (fy = 0; fy < f_h; ++fy, x += row_step) {
          if (f_w == 3) { /* the common 3x3 filter: a row without a loop */
            sum += w[0] * x[0] + w[out_c] * x[tap_step] + w[2 * out_c] * x[2 * tap_step];
            w += 3 * out_c;
            continue;
          }
          for (fx = 0; fx < f_w; ++fx, w += out_c) sum += *w * x[fx * tap_step];
        }
        acc[oc] = sum;
      }
      ec_requantize_all(&r, acc, out + (oy * p->out_w + ox) * out_c);
    }
  }
}

/* Pooling windows are clipped to the input (padding never counts, as in TFLM). */
typedef struct {
  const int8_t *first; /* the window's first pixel, channel 0 */
  int rows, cols, row_step;
} ec_window_t;

static inline ec_window_t ec_window(const ec_pool_t *p, const int8_t *in, int oy, int ox) {
  const int y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
  const int fy0 = ec_max(0, -y0), fy1 = ec_min(p->f_h, p->in_h - y0);
  const int fx0 = ec_max(0, -x0), fx1 = ec_min(p->f_w, p->in_w - x0);
  ec_window_t w;
  w.first = in + ((y0 + fy0) * p->in_w + x0 + fx0) * p->c;
  w.rows = fy1 - fy0;
  w.cols = fx1 - fx0;
  w.row_step = p->in_w * p->c;
  return w;
}

/* o[c] = max(o[c], x[c]) for n channels: 4 at a time with SSUB8 + SEL on the DSP. */
/* n int8 values from x to o, four per 32-bit load and store. */
static inline void ec_copy8(int8_t *o, const int8_t *x, int n) {
  int c;
  for (c = 0; c + 4 <= n; c += 4) memcpy(o + c, x + c, 4);
  for (; c < n; ++c) o[c] = x[c];
}

static inline void ec_max_into(int8_t *o, const int8_t *x, int n) {
  int c = 0;
#if EC_DSP
  for (; c + 4 <= n; c += 4) {
    const uint32_t a = ec_load32(o + c), b = ec_load32(x + c);
    uint32_t m;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(m) : "r"(a), "r"(b) : "cc");
    memcpy(o + c, &m, 4);
  }
#endif
  for (; c < n; ++c) o[c] = (int8_t)ec_max(o[c], x[c]);
}

void ec_max_pool2d(const ec_pool_t *p, const int8_t *in, int8_t *out) {
  const int full = p->act_min <= -128 && p->act_max >= 127;
  int oy, ox, c, fy, fx;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      const ec_window_t w = ec_window(p, in, oy, ox);
      int8_t *o = out + (oy * p->out_w + ox) * p->c;
      if (w.rows == 0 || w.cols == 0) memset(o, -128, (size_t)p->c); /* TFLM's start value */
      else ec_copy8(o, w.first, p->c);
      for (fy = 0; fy < w.rows; ++fy) {
        for (fx = fy == 0; fx < w.cols; ++fx) {
          ec_max_into(o, w.first + fy * w.row_step + fx * p->c, p->c);
        }
      }
      if (!full) {
        for (c = 0; c < p->c; ++c) o[c] = (int8_t)ec_min(ec_max(o[c], p->act_min), p->act_max);
      }
    }
  }
}

void ec_average_pool2d(const ec_pool_t *p, const int8_t *in, int8_t *out) {
  int oy, ox, c, fy, fx;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      const ec_window_t w = ec_window(p, in, oy, ox);
      const int32_t count = w.rows * w.cols;
      int8_t *o = out + (oy * p->out_w + ox) * p->c;
      for (c = 0; c < p->c; ++c) {
        int32_t acc = 0;
        for (fy = 0; fy < w.rows; ++fy) {
          const int8_t *x = w.first + fy * w.row_step + c;
          for (fx = 0; fx < w.cols; ++fx) acc += x[fx * p->c];
        }
        if (count > 0) {
          /* Round to nearest, half away from zero (TFLM's reference average pool). */
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        }
        o[c] = (int8_t)ec_min(ec_max(acc, p->act_min), p->act_max);
      }
    }
  }
}

void ec_fully_connected(const ec_fc_t *p, const int8_t *in, int8_t *out) {
  const ec_rows_t r = {p->filter, p->row, p->bias, p->mult, p->shift, p->per_channel,
                       p->units, p->out_offset, p->act_min, p->act_max};
  int b;
  int32_t d, *acc = (int32_t *)(void *)(p->column + p->row);
  memset(p->column + p->depth, 0, (size_t)(p->row - p->depth) * sizeof *p->column);
  for (b = 0; b < p->batches; ++b) {
    for (d = 0; d < p->depth; ++d) p->column[d] = (int16_t)(in[b * p->depth + d] + p->in_offset);
    ec_accumulate(&r, p->column, NULL, acc, acc);
    ec_requantize_all(&r, acc, out + b * p->units);
  }
}

/* ---- sparse layers: one multiply-accumulate per nonzero weight, input read in place ---- */

void ec_conv2d_sparse(const ec_conv_sparse_t *p, const int8_t *in, int8_t *out) {
  const ec_conv_t *c = &p->conv;
  const int wp = c->padded_w;
  int16_t *padded = c->column;
  int oy, ox, o;
  ec_pad_input(c, in, padded);
  for (oy = 0; oy < c->out_h; ++oy) {
    for (ox = 0; ox < c->out_w; ++ox) {
      const int16_t *top = padded + (oy * c->stride_h * wp + ox * c->stride_w) * c->in_c;
      const int8_t *v = p->csr.values;
      const uint16_t *ix = p->csr.index;
      for (o = 0; o < c->out_c; ++o) {
        const int8_t *const end = v + p->csr.count[o];
        int32_t acc = c->bias != NULL ? c->bias[o] : 0;
        while (v < end) acc += *v++ * top[*ix++];
        *out++ = ec_requantize(acc, c->mult[o], c->shift[o], c->out_offset, c->act_min,
                               c->act_max);
      }
    }
  }
}

void ec_fully_connected_sparse(const ec_fc_sparse_t *p, const int8_t *in, int8_t *out) {
  const ec_fc_t *f = &p->fc;
  int b, o;
  for (b = 0; b < f->batches; ++b, in += f->depth) {
    const int8_t *v = p->csr.values;
    const uint16_t *ix = p->csr.index;
    for (o = 0; o < f->units; ++o) {
      const int8_t *const end = v + p->csr.count[o];
      const int k = f->per_channel ? o : 0;
      int32_t acc = f->bias[o];
      while (v < end) acc += *v++ * in[*ix++];
      *out++ = ec_requantize(acc, f->mult[k], f->shift[k], f->out_offset, f->act_min,
                             f->act_max);
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
