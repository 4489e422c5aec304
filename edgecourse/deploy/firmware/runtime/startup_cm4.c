/* Cortex-M4F start-up for QEMU's mps2-an386 (edgecourse): vector table at 0x0, then the reset
 * handler enables the FPU, copies .data to RAM, zeroes .bss, paints the stack, opens the
 * semihosting streams, runs the C++ constructors and main(), and reports on stderr the stack
 * main() used. Both routes (generated C and TFLM) link it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define STACK_PAINT 0xC0FFEE11u

extern int main(void);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;

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

/* The deepest the stack ever grew: the lowest word of the reserved stack no longer painted. */
static uint32_t stack_used_bytes(void) {
  const uint32_t *word = &_sstack;
  while (word < &_estack && *word == STACK_PAINT) ++word;
  return (uint32_t)((uintptr_t)&_estack - (uintptr_t)word);
}

void Reset_Handler(void) {
  /* Enable the FPU (CP10, CP11 full access) before any code of the hard-float ABI runs. */
  *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  uint32_t *src = &_sidata, *dst = &_sdata;
  while (dst < &_edata) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  /* Paint the stack below this frame (64 bytes of slack for the frame itself). */
  uint32_t *top = (uint32_t *)((uintptr_t)__builtin_frame_address(0) - 64);
  for (dst = &_sstack; dst < top;) *dst++ = STACK_PAINT;
  initialise_monitor_handles();
  __libc_init_array();
  int code = main();
  fprintf(stderr, "ec-stack-bytes: %lu\n", (unsigned long)stack_used_bytes());
  exit(code);
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
