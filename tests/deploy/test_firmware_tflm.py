"""Are the TFLM firmware sources right for a model the course never made? (no TFLM build here)"""

import re
import subprocess

import numpy as np
import pytest
from firmware_models import depthwise_avgpool_model, float_model, images, mixed_io_model

from edgecourse.cli import main as cli
from edgecourse.deploy.firmware import generate_tflm, resolver_method, write_project
from edgecourse.deploy.firmware.commands import parse_bytes
from edgecourse.deploy.firmware.tflm_tree import (
    RESOLVER_HEADER,
    available_trees,
    find_tree,
    registrations,
    select_sources,
)
from edgecourse.deploy.firmware.toolchain import require_tool
from edgecourse.deploy.runtimes import model_input, run_tflm
from edgecourse.deploy.tflm import measure_arena

TREES = available_trees()
needs_tree = pytest.mark.skipif("reference" not in TREES,
                                reason="no TFLM tree: set EDGECOURSE_TFLM_TREE or add "
                                       "../shared/third_party/tflm")


def _array_bytes(source: str) -> bytes:
    body = source[source.index("{") + 1: source.rindex("}")]
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body))


@pytest.fixture(scope="module")
def samples():
    return model_input(depthwise_avgpool_model(), images((10, 12, 2), 5, seed=7))


@pytest.fixture(scope="module")
def project(samples):
    return generate_tflm(depthwise_avgpool_model(), "dw", labels=list("abcde"), X=samples)


def test_model_array_is_the_tflite_byte_for_byte(project):
    source = project.files["model_data.cc"]
    assert "alignas(16) const unsigned char g_dw_model_data[] = {" in source
    assert _array_bytes(source) == depthwise_avgpool_model()
    header = project.files["model_data.h"]
    assert f"g_dw_model_data_size = {len(depthwise_avgpool_model())};" in header


def test_resolver_registers_exactly_the_models_ops(project):
    header = project.files["op_resolver.h"]
    calls = re.findall(r"op_resolver\.(Add\w+)\(\)", header)
    assert calls == ["AddDepthwiseConv2D", "AddConv2D", "AddAveragePool2D",
                     "AddReshape", "AddFullyConnected", "AddSoftmax"]
    assert "MicroMutableOpResolver<kNumberOperators>" in header
    assert "kNumberOperators = 6;" in header


def test_arena_is_measured_plus_margin(project):
    measured = measure_arena(depthwise_avgpool_model()).arena_bytes
    assert project.measured_arena_bytes == measured
    assert measured < project.arena_bytes <= measured + 1024 + 16
    assert project.arena_bytes % 16 == 0
    assert f"kTensorArenaSize = {project.arena_bytes};" in project.files["model_settings.h"]


def test_test_data_holds_the_samples_and_tflms_outputs(project, samples):
    expected = run_tflm(depthwise_avgpool_model(), samples).reshape(len(samples), -1)
    np.testing.assert_array_equal(project.test_outputs, expected)
    np.testing.assert_array_equal(project.test_inputs, samples.reshape(len(samples), -1))
    source = project.files["test_data.cc"]
    rows = re.findall(r"\{ ?(-?\d+(?:, -?\d+)*) ?\}", source.split("kTestOutputs")[1])
    assert [[int(v) for v in row.split(",")] for row in rows] == expected.tolist()
    assert "kTestCount = 5;" in project.files["test_data.h"]


def test_main_runs_every_sample_and_fails_on_a_difference(project):
    main = project.files["main.cc"]
    for symbol in ("g_dw_model_data", "RegisterOps", "kTensorArenaSize", "kTestInputs",
                   "kTestOutputs", "AllocateTensors", "Invoke", "ec_begin", "ec_end"):
        assert symbol in main
    assert "for (int n = 0; n < kTestCount; ++n)" in main
    assert "return differ == 0 ? 0 : 1;" in main
    assert main.count("return Fail(") >= 5  # every failure path stops with a reason
    assert "RegisterDebugLogCallback" in main  # D6: cortex_m_generic prints nothing without it


def test_makefile_takes_a_tree_and_a_cortex_m4_target(project):
    makefile = project.files["Makefile"]
    assert "TFLM_TREE ?=" in makefile and "TARGET ?= host" in makefile
    assert "-mfloat-abi=hard -mfpu=fpv4-sp-d16" in makefile
    assert "STARTUP ?= startup_cm4.c" in makefile and "LINKER_SCRIPT ?= cortex_m4.ld" in makefile
    assert "$(MAKE)" not in makefile  # D2: no recursive make, so -j reaches every compile
    for name in ("startup_cm4.c", "cortex_m4.ld", "ec_bench.c", "ec_bench.h"):
        assert name in project.files
    readme = project.files["README.md"]
    assert "create_tflm_tree.py" in readme and "numpy and Pillow" in readme  # D4


@needs_tree
def test_every_builtin_registration_name_is_tflms():
    """D1: each builtin's Add...() method name, checked against micro_mutable_op_resolver.h."""
    found = registrations(TREES["reference"])
    assert len(found) > 90, f"parsed only {len(found)} registrations of {RESOLVER_HEADER}"
    wrong = {op: (resolver_method(op), method) for op, (method, _) in found.items()
             if resolver_method(op) != method}
    assert not wrong, f"resolver_method differs from TFLM (ours, TFLM's): {wrong}"
    for op in ("BATCH_MATMUL", "CUMSUM", "PADV2", "UNIDIRECTIONAL_SEQUENCE_LSTM"):
        assert op in found


@needs_tree
@pytest.mark.parametrize("kernels", sorted(TREES))
def test_only_the_core_and_the_models_kernels_are_compiled(kernels):
    tree = TREES[kernels]
    ops = ["CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    sources = select_sources(tree, ops)
    assert all((tree / s).is_file() for s in sources)
    kernels_used = {s.rsplit("/", 1)[1] for s in sources if "/micro/kernels/" in s}
    assert {"conv.cc", "pooling.cc", "reshape.cc", "fully_connected.cc", "softmax.cc",
            "conv_common.cc", "kernel_util.cc"} <= kernels_used
    assert "add.cc" not in kernels_used and "lstm_eval.cc" not in kernels_used
    assert not any("test" in s for s in sources)
    if kernels == "cmsis-nn":
        assert "tensorflow/lite/micro/kernels/cmsis_nn/conv.cc" in sources
        assert "third_party/cmsis_nn/Source/ConvolutionFunctions/arm_convolve_s8.c" in sources
    else:
        assert len(sources) < 70, "the core plus five kernels, not the whole tree"


@needs_tree
def test_an_op_without_a_kernel_is_refused():
    with pytest.raises(ValueError, match="op NO_SUCH_OP has no kernel"):
        select_sources(TREES["reference"], ["CONV_2D", "NO_SUCH_OP"])


def test_a_wrong_tree_path_says_what_is_wrong(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="not a TFLM tree"):
        find_tree("reference", tmp_path)
    monkeypatch.setenv("EDGECOURSE_TFLM_TREE", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="not a TFLM tree"):
        find_tree("reference")
    with pytest.raises(ValueError, match="kernels must be one of"):
        find_tree("fast")


@needs_tree
def test_makefile_refuses_a_missing_or_wrong_tree(project, tmp_path):
    write_project(project.files, tmp_path / "fw")
    make = require_tool("make")
    for args, message in (([], "TFLM_TREE is not set"),
                          ([f"TFLM_TREE={tmp_path}"], "is not a TFLM tree"),
                          ([f"TFLM_TREE={TREES['reference']}", "TARGET=avr"], "is unknown")):
        done = subprocess.run([make, "-n", *args], cwd=tmp_path / "fw", capture_output=True,
                              text=True)
        assert done.returncode != 0 and message in done.stderr


@needs_tree
def test_makefile_compiles_the_selected_sources(project, tmp_path):
    write_project(project.files, tmp_path / "fw")
    tree = TREES["reference"]
    done = subprocess.run([require_tool("make"), "-n", "lib", f"TFLM_TREE={tree}"],
                          cwd=tmp_path / "fw", capture_output=True, text=True, check=True)
    compiled = set(re.findall(rf"-c {re.escape(str(tree))}/(\S+)", done.stdout))
    assert compiled == set(select_sources(tree, project.ops))


def test_sources_that_need_no_tflm_compile(project, tmp_path):
    write_project(project.files, tmp_path / "fw")
    gxx = require_tool("g++")
    for source in ("model_data.cc", "test_data.cc"):
        subprocess.run([gxx, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-c", source],
                       cwd=tmp_path / "fw", check=True)


def test_resolver_method_names():
    assert resolver_method("MAX_POOL_2D") == "AddMaxPool2D"
    assert resolver_method("RELU6") == "AddRelu6"
    assert resolver_method("BATCH_MATMUL") == "AddBatchMatMul"
    with pytest.raises(ValueError, match="CUSTOM"):
        resolver_method("CUSTOM:MyOp")


def test_float32_test_data_are_bit_patterns_and_mixed_types_are_refused():
    """Does a float32 model get exact test data (bit patterns), and a mixed one a clear error?"""
    project = generate_tflm(float_model(), "f", measured_arena_bytes=4096)
    expected = project.test_outputs
    assert expected.dtype == np.float32 and project.test_inputs.dtype == np.float32
    data = project.files["test_data.cc"]
    assert "const uint32_t kTestOutputs" in data
    assert f"0x{expected[0].view(np.uint32)[0]:08x}" in data
    assert "kTfLiteFloat32" in project.files["main.cc"]
    with pytest.raises(ValueError, match="int8 model .* or a float32 one"):
        generate_tflm(mixed_io_model(), "m", measured_arena_bytes=4096)


def test_parse_bytes():
    assert parse_bytes("1MiB") == 1 << 20 and parse_bytes("256KiB") == 256 * 1024
    assert parse_bytes("64kB") == 64000 and parse_bytes("4096") == 4096
    with pytest.raises(ValueError, match="256KiB"):
        parse_bytes("lots")


def test_cli_budget_and_firmware(tmp_path, capsys):
    path = tmp_path / "dw.tflite"
    path.write_bytes(depthwise_avgpool_model())
    assert cli(["budget", str(path), "--flash", "1MiB", "--ram", "256KiB"]) == 0
    out = capsys.readouterr().out
    assert "verdict: fits" in out and f"{len(path.read_bytes())} bytes" in out
    assert cli(["budget", str(path), "--flash", "1MiB", "--ram", "2KiB"]) == 1
    out = capsys.readouterr().out
    assert "does not fit" in out and "ram" in out.splitlines()[-1]
    assert cli(["firmware", str(path), "-o", str(tmp_path / "fw"), "--samples", "3"]) == 0
    assert (tmp_path / "fw" / "op_resolver.h").is_file()
    assert "kTestCount = 3;" in (tmp_path / "fw" / "test_data.h").read_text()
    floaty = tmp_path / "f.tflite"
    floaty.write_bytes(float_model())
    capsys.readouterr()
    assert cli(["budget", str(floaty)]) == 2
    err = capsys.readouterr().err
    assert "int8" in err and len(err.strip().splitlines()) == 1


def test_cli_build_errors_are_one_line(tmp_path, capsys, monkeypatch):
    path = tmp_path / "dw.tflite"
    path.write_bytes(depthwise_avgpool_model())
    assert cli(["firmware", str(path), "-o", str(tmp_path / "a"), "--run", "host",
                "--tflm-tree", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a TFLM tree" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cli(["firmware", str(path), "-o", str(tmp_path / "b"), "--target", "c",
                "--run", "qemu"]) == 2
    err = capsys.readouterr().err
    assert "apt-get install" in err and len(err.strip().splitlines()) == 1


@needs_tree
def test_without_a_tree_at_hand_the_makefile_compiles_the_whole_library(project, tmp_path):
    files = generate_tflm(depthwise_avgpool_model(), "dw", measured_arena_bytes=4096,
                          sources=[]).files
    assert "every library source is compiled" in files["Makefile"]
    write_project(files, tmp_path / "fw")
    tree = TREES["reference"]
    done = subprocess.run([require_tool("make"), "-n", "lib", f"TFLM_TREE={tree}"],
                          cwd=tmp_path / "fw", capture_output=True, text=True, check=True)
    compiled = set(re.findall(rf"-c {re.escape(str(tree))}/(\S+)", done.stdout))
    assert set(select_sources(tree, project.ops)) < compiled and len(compiled) > 120
    assert not any("test" in name for name in compiled)
