/* Weight-shared layers of the code-generation route (edgecourse, lesson 06): the weights are
 * packed b-bit indices into an int8 codebook, decoded one output channel at a time into a
 * scratch buffer and run by the int8 kernel of ec_kernels.c, so the outputs equal TFLM's on
 * the same int8 model bit for bit. Flash holds n*b/8 bytes of indices instead of n bytes. */
#ifndef EC_CODEBOOK_H
#define EC_CODEBOOK_H

#include <stdint.h>

#include "ec_kernels.h"

/* Packed indices: index i is bits i*bits .. i*bits+bits-1 of the stream, least significant
 * bit first (bit j of the stream is bit j%8 of byte j/8). */
typedef struct {
  const uint8_t *indices;
  const int8_t *codebook; /* 2^bits entries */
  int32_t bits;
  int8_t *scratch; /* one output channel's weights, then its outputs */
} ec_codes_t;

typedef struct {
  ec_conv_t conv; /* .filter unused */
  ec_codes_t codes;
} ec_conv_codebook_t;

typedef struct {
  ec_fc_t fc; /* .filter unused */
  ec_codes_t codes;
} ec_fc_codebook_t;

void ec_conv2d_codebook(const ec_conv_codebook_t *p, const int8_t *in, int8_t *out);
void ec_fully_connected_codebook(const ec_fc_codebook_t *p, const int8_t *in, int8_t *out);

#endif /* EC_CODEBOOK_H */
