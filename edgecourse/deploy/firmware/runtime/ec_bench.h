/* Instruction-count markers (edgecourse): the host counts the instructions QEMU executes between
 * a call of ec_begin() and the next call of ec_end(). Both do nothing; they only mark. */
#ifndef EC_BENCH_H
#define EC_BENCH_H

#ifdef __cplusplus
extern "C" {
#endif

void ec_begin(void);
void ec_end(void);

#ifdef __cplusplus
}
#endif

#endif /* EC_BENCH_H */
