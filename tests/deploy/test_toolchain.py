"""Does the one ruler (start-up, QEMU, markers, painted stack, link map) measure what it should?"""

import pytest

from edgecourse.deploy.firmware import toolchain as tc

PROGRAM = r"""
#include <stdint.h>
#include <stdio.h>

#include "ec_bench.h"

const int8_t g_weights[3000] = {1, 2, 3};  /* const: flash */
static int8_t g_buffer[5000];               /* zeroed: RAM (bss) */
static volatile int g_n = 1000;             /* unknown to the compiler: arrays kept */

static int32_t __attribute__((noinline)) work(int n) {
  volatile int32_t sink = 0;
  volatile int8_t frame[2048];              /* 2 KiB of stack */
  for (int i = 0; i < n; ++i) { frame[i % 2048] = (int8_t)i; sink += frame[i % 2048]; }
  g_buffer[n % 5000] = (int8_t)sink;
  return sink + g_weights[n % 3] + g_buffer[(n + 1) % 5000];
}

int main(void) {
  ec_begin();
  ec_end();
  for (int k = 0; k < 3; ++k) {
    ec_begin();
    int32_t r = work(g_n);
    ec_end();
    printf("sample %d: outputs %d\n", k, (int)(r & 127));
  }
  printf("done 3\n");
  return 0;
}
"""


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ruler")
    (folder / "main.c").write_text(PROGRAM)
    return tc.build_cortex_m4(folder, "ruler.elf")


def test_the_program_runs_and_reports_its_stack(elf):
    run = tc.run_qemu(elf)
    assert run.returncode == 0 and run.stdout.strip().endswith("done 3")
    assert tc.parse_outputs(run.stdout, 3, 1).shape == (3, 1)
    assert 2048 < run.stack_bytes < 4096, "the painted stack shows the 2 KiB frame"


def test_instructions_are_counted_between_the_markers(elf):
    counts = tc.count_instructions(elf, inferences=2)
    assert counts.setup < 10, "an empty setup costs a few instructions"
    assert counts.inferences[0] == counts.inferences[1] == counts.per_inference
    assert 5_000 < counts.per_inference < 30_000, "1000 iterations of a short loop"


def test_flash_and_ram_come_from_the_link(elf):
    size = tc.size_of(elf)
    parts = tc.map_breakdown(elf.with_suffix(".map"), model=("main",))
    assert parts["model"]["flash"] >= 3000 and parts["model"]["ram"] >= 5000
    assert parts["runtime libraries"]["flash"] > 1000  # newlib-nano's printf
    listed = sum(p["flash"] for p in parts.values())
    assert 0 <= size.flash_bytes - listed < 256, "the parts add up to the image, but for fill"
    assert abs(size.static_ram_bytes - sum(p["ram"] for p in parts.values())) < 64


def test_objects_are_classified():
    assert tc.classify_object("/usr/lib/arm-none-eabi/lib/libc_nano.a(lib_a-printf.o)") == \
        "runtime libraries"
    assert tc.classify_object("/cache/libtflm-0123.a(conv.cc.o)") == "TFLM"
    assert tc.classify_object("build/app/model_data.cc.o") == "model"
    assert tc.classify_object("test_data.o") == "test data"
    assert tc.classify_object("ec_kernels.o") == "kernels"
    assert tc.classify_object("build/app/main.cc.o") == "application"


def test_a_missing_marker_says_what_to_do(tmp_path):
    (tmp_path / "main.c").write_text("int main(void) { return 0; }\n")
    elf = tc.build_cortex_m4(tmp_path, "plain.elf")
    assert tc.run_qemu(elf).returncode == 0
    with pytest.raises(RuntimeError, match="ec_begin"):
        tc.symbol_address(elf, "ec_begin_missing")
