/* Cortex-M4 start-up for QEMU's mps2-an386 (edgecourse): vector table at 0x0, then the reset
 * handler copies .data to RAM, zeroes .bss, opens the semihosting streams and runs main(). */
#include <stdint.h>
#include <stdlib.h>

extern int main(void);
extern void initialise_monitor_handles(void);
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

void Reset_Handler(void);
void Fault_Handler(void);

__attribute__((section(".isr_vector"), used))
const uintptr_t g_vector_table[16] = {
    (uintptr_t)&_estack,        /* initial stack pointer */
    (uintptr_t)Reset_Handler,   /* reset */
    (uintptr_t)Fault_Handler,   /* NMI */
    (uintptr_t)Fault_Handler,   /* HardFault */
    (uintptr_t)Fault_Handler,   /* MemManage */
    (uintptr_t)Fault_Handler,   /* BusFault */
    (uintptr_t)Fault_Handler,   /* UsageFault */
};

void Reset_Handler(void) {
  uint32_t *src = &_sidata, *dst = &_sdata;
  while (dst < &_edata) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  initialise_monitor_handles();
  exit(main());
}

/* newlib's exit() runs the fini hooks; without crti.o (-nostartfiles) they are ours, empty. */
void _init(void);
void _fini(void);
void _init(void) {}
void _fini(void) {}

/* A fault stops here; the host's timeout reports it. */
void Fault_Handler(void) {
  for (;;) {
  }
}
