"""Are the TFLM firmware sources right for a model the course never made?"""

import re
import subprocess

import pytest
from firmware_models import depthwise_avgpool_model, float_model

from edgecourse.cli import main as cli
from edgecourse.deploy.firmware import generate_tflm, resolver_method, write_project
from edgecourse.deploy.firmware.commands import parse_bytes
from edgecourse.deploy.firmware.toolchain import require_tool
from edgecourse.deploy.tflm import measure_arena


def _array_bytes(source: str) -> bytes:
    body = source[source.index("{") + 1: source.rindex("}")]
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body))


@pytest.fixture(scope="module")
def project():
    return generate_tflm(depthwise_avgpool_model(), "dw", labels=list("abcde"))


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


def test_main_uses_the_generated_symbols(project):
    main = project.files["main.cc"]
    for symbol in ("g_dw_model_data", "RegisterOps", "kTensorArenaSize", "kInputScale",
                   "kCategoryLabels", "AllocateTensors", "Invoke"):
        assert symbol in main
    assert main.count("return 1;") >= 5  # every failure path stops with a reason
    assert "TFLM_DIR" in project.files["Makefile"]


def test_sources_that_need_no_tflm_compile(project, tmp_path):
    write_project(project.files, tmp_path / "fw")
    gxx = require_tool("g++")
    for source in ("model_data.cc",):
        subprocess.run([gxx, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-c", source],
                       cwd=tmp_path / "fw", check=True)
    # model_settings.h is plain C++ too: compile it on its own.
    (tmp_path / "fw" / "settings.cc").write_text('#include "model_settings.h"\n'
                                                 "int main() { return kInputSize > 0 ? 0 : 1; }\n")
    subprocess.run([gxx, "-std=c++17", "-Wall", "-Werror", "-c", "settings.cc"],
                   cwd=tmp_path / "fw", check=True)


def test_resolver_method_names():
    assert resolver_method("MAX_POOL_2D") == "AddMaxPool2D"
    assert resolver_method("RELU6") == "AddRelu6"
    with pytest.raises(ValueError, match="CUSTOM"):
        resolver_method("CUSTOM:MyOp")


def test_float_model_is_refused():
    with pytest.raises(ValueError, match="int8"):
        generate_tflm(float_model(), "f", measured_arena_bytes=4096)


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
    assert cli(["firmware", str(path), "-o", str(tmp_path / "fw")]) == 0
    assert (tmp_path / "fw" / "op_resolver.h").is_file()
    floaty = tmp_path / "f.tflite"
    floaty.write_bytes(float_model())
    capsys.readouterr()
    assert cli(["budget", str(floaty)]) == 2
    err = capsys.readouterr().err
    assert "int8" in err and len(err.strip().splitlines()) == 1
