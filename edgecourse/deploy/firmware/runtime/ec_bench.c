/* Instruction-count markers (edgecourse): never inlined and not identical (so never folded into
 * one function), each has its own entry address for the host to look for in QEMU's trace. */
#include "ec_bench.h"

static volatile int g_ec_mark;

__attribute__((noinline)) void ec_begin(void) { g_ec_mark = 1; }
__attribute__((noinline)) void ec_end(void) { g_ec_mark = 2; }
