/* Weight-shared conv and fully connected layers (edgecourse). See ec_codebook.h. */
#include "ec_codebook.h"

#include <stddef.h>

/* Decode the count weights from weight first on into one packed row of row bytes: the
 * layout of ec_kernels.h (groups of 4 stored w0 w2 w1 w3, zeros up to row). */
static void ec_decode(const ec_codes_t *c, int32_t first, int32_t count, int32_t row,
                      int8_t *dst) {
  const uint32_t mask = (1u << c->bits) - 1u;
  uint32_t bit = (uint32_t)first * (uint32_t)c->bits;
  int32_t i;
  for (i = count & ~3; i < row; ++i) dst[i] = 0; /* the last group holds the padding */
  for (i = 0; i < count; ++i, bit += (uint32_t)c->bits) {
    const uint32_t byte = bit >> 3;
    /* An index spans at most two bytes (bits <= 8); the generator pads the stream by one. */
    const uint32_t window = (uint32_t)c->indices[byte] | ((uint32_t)c->indices[byte + 1] << 8);
    /* Position i of a group of 4 goes to slot i with bits 0 and 1 swapped. */
    dst[(i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1)] = c->codebook[(window >> (bit & 7u)) & mask];
  }
}

void ec_conv2d_codebook(const ec_conv_codebook_t *p, const int8_t *in, int8_t *out) {
  const ec_conv_t *c = &p->conv;
  const int32_t count = c->f_h * c->f_w * c->in_c;
  const int32_t pixels = c->out_h * c->out_w;
  int8_t *weights = p->codes.scratch, *column = p->codes.scratch + c->row;
  int oc, i;
  for (oc = 0; oc < c->out_c; ++oc) {
    ec_conv_t one = *c;
    ec_decode(&p->codes, oc * count, count, c->row, weights);
    one.out_c = 1;
    one.filter = weights;
    one.bias = c->bias != NULL ? c->bias + oc : NULL;
    one.mult = c->mult + oc;
    one.shift = c->shift + oc;
    ec_conv2d(&one, in, column);
    for (i = 0; i < pixels; ++i) out[i * c->out_c + oc] = column[i];
  }
}

void ec_fully_connected_codebook(const ec_fc_codebook_t *p, const int8_t *in, int8_t *out) {
  const ec_fc_t *f = &p->fc;
  int8_t *weights = p->codes.scratch, *column = p->codes.scratch + f->row;
  int o, b;
  for (o = 0; o < f->units; ++o) {
    ec_fc_t one = *f;
    ec_decode(&p->codes, o * f->depth, f->depth, f->row, weights);
    one.units = 1;
    one.filter = weights;
    one.bias = f->bias != NULL ? f->bias + o : NULL;
    one.mult = f->per_channel ? f->mult + o : f->mult;
    one.shift = f->per_channel ? f->shift + o : f->shift;
    ec_fully_connected(&one, in, column);
    for (b = 0; b < f->batches; ++b) out[b * f->units + o] = column[b];
  }
}
