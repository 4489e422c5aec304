"""Do the budget helpers count what torchvision publishes, and refuse bad input clearly?"""

from collections import OrderedDict

import matplotlib.pyplot as plt
import pytest
import torch
import torchvision
from torch import nn

import edgecourse  # noqa: F401  (torch before anything else)
from edgecourse.lab import budgets, plots
from edgecourse.lab.budgets import KIB, MB, MIB
from edgecourse.lab.models import COURSE_WIDTH, digits_cnn

# The four torchvision architectures that fit 1 MiB at int8 with a 10-class head (lesson 01).
FITTING = ("shufflenet_v2_x0_5", "squeezenet1_1", "squeezenet1_0", "mnasnet0_5")


def tiny_net() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64, 10))


# --- bytes per dtype -------------------------------------------------------------------------


@pytest.mark.parametrize(("dtype", "expected"), [("fp32", 4000), ("fp16", 2000), ("int8", 1000),
                                                 ("int4", 500), ("float32", 4000), ("half", 2000)])
def test_param_bytes_per_dtype(dtype, expected):
    """Does 1000 parameters take the right bytes at each dtype (and its common aliases)?"""
    assert budgets.param_bytes(1000, dtype) == expected


def test_param_bytes_rounds_a_half_byte_up():
    """Does an odd number of int4 weights take a whole last byte?"""
    assert budgets.param_bytes(3, "int4") == 2
    assert budgets.param_bytes(0, "int4") == 0


def test_unknown_dtype_names_the_known_ones():
    """Does an unknown dtype raise a ValueError that lists the dtypes to use instead?"""
    with pytest.raises(ValueError, match=r"unknown dtype 'int3'.*fp16.*fp32.*int4.*int8"):
        budgets.param_bytes(10, "int3")


@pytest.mark.parametrize(("count", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_param_bytes_rejects_bad_counts(count, error):
    """Is a negative or non-integer parameter count refused?"""
    with pytest.raises(error, match="num_params"):
        budgets.param_bytes(count, "fp32")


def test_units():
    """Are MB and MiB, KB and KiB the decimal and binary units?"""
    assert (budgets.KB, MB, KIB, MIB) == (1000, 1_000_000, 1024, 1_048_576)


# --- device budgets --------------------------------------------------------------------------


def test_course_budget_is_1_mib_flash_256_kib_sram():
    """Is the course's device 1 MiB of flash and 256 KiB of SRAM, inclusive at the edge?"""
    budget = budgets.device_budget("course")
    assert (budget.flash_bytes, budget.sram_bytes) == (MIB, 256 * KIB)
    assert budget.fits_flash(MIB) and not budget.fits_flash(MIB + 1)
    assert budget.fits_sram(256 * KIB) and not budget.fits_sram(256 * KIB + 1)


def test_negative_budget_is_refused():
    """Does a negative flash or SRAM size raise a ValueError naming the field?"""
    with pytest.raises(ValueError, match="flash_bytes must be >= 0"):
        budgets.DeviceBudget("broken", -1, 1024)
    with pytest.raises(ValueError, match="sram_bytes must be >= 0"):
        budgets.DeviceBudget("broken", 1024, -5)
    with pytest.raises(TypeError, match="flash_bytes must be an int"):
        budgets.DeviceBudget("broken", 1.5, 1024)


def test_unknown_device_lists_the_known_ones():
    """Does an unknown device name say which names exist?"""
    with pytest.raises(ValueError, match="known devices.*course"):
        budgets.device_budget("esp32-imaginary")


# --- parameter counts ------------------------------------------------------------------------


def test_count_params_by_hand_with_biases_and_no_buffers():
    """Are weights and biases counted, batch-norm statistics not, a shared layer once?"""
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 2))
    assert budgets.count_params(net) == (3 * 8 * 9 + 8) + (8 + 8) + (8 * 2 + 2)
    assert budgets.count_params(net) == sum(p.numel() for p in net.parameters())
    assert budgets.count_buffers(net) == 8 + 8 + 1  # running mean, var, num_batches_tracked
    assert budgets.count_running_stats(net) == 16
    shared = nn.Linear(3, 3)
    assert budgets.count_params(nn.Sequential(shared, shared)) == 12


def test_count_params_without_head():
    """Does include_head=False drop exactly the `classifier` (or `fc`) child?"""
    net = nn.Sequential(OrderedDict(features=nn.Conv2d(1, 4, 3), classifier=nn.Linear(4, 10)))
    assert budgets.count_params(net, include_head=False) == 4 * 9 + 4
    assert budgets.classifier_head(net) is net.classifier


def test_count_params_nonzero_only_with_and_without_head():
    """Are zeros left out when asked, the head's too, and a meta net refused?"""
    net = nn.Sequential(OrderedDict(features=nn.Conv2d(1, 4, 3), classifier=nn.Linear(4, 10)))
    with torch.no_grad():
        net.features.weight[:2] = 0
        net.classifier.bias[:3] = 0
    assert budgets.count_params(net, nonzero_only=True) == (4 * 9 + 4 - 18) + (4 * 10 + 10 - 3)
    assert budgets.count_params(net, include_head=False, nonzero_only=True) == 4 * 9 + 4 - 18
    with pytest.raises(ValueError, match="meta"):
        budgets.count_params(budgets.build_architecture("squeezenet1_1"), nonzero_only=True)


def test_a_net_without_a_head_is_refused():
    """Does asking for the head of a net that has none say which children it has?"""
    with pytest.raises(ValueError, match="no child named"):
        budgets.count_params(tiny_net(), include_head=False)


@pytest.mark.parametrize("helper", [budgets.count_params, budgets.count_buffers,
                                    budgets.classifier_head])
def test_not_a_module_is_a_type_error(helper):
    """Does a helper given something that is not an nn.Module raise a clear TypeError?"""
    with pytest.raises(TypeError, match=r"net must be a torch.nn.Module, got dict"):
        helper({"weight": torch.zeros(3)})


def test_the_course_cnn_count():
    """Does the course CNN have the 13,706 parameters the lessons quote?"""
    assert budgets.count_params(digits_cnn(COURSE_WIDTH)) == 13_706


# Seed models, the fitting ones, and the builds that need special arguments or the fallback.
REFERENCE_SAMPLE = (*budgets.SEED_MODELS, *FITTING, "googlenet", "vit_h_14", "regnet_y_400mf",
                    "mobilenet_v3_small", "efficientnet_b0")


@pytest.mark.parametrize("name", REFERENCE_SAMPLE)
def test_meta_build_counts_equal_published_num_params(name):
    """Does the weightless meta build have exactly the parameters its Weights.meta publishes?"""
    net = budgets.build_architecture(name)
    assert all(p.is_meta for p in net.parameters()), f"{name} allocated real parameters"
    assert budgets.count_params(net) == budgets.default_weights(name).meta["num_params"]


def test_reference_table_matches_metadata_and_downloads_nothing(monkeypatch):
    """Is the seed table built from metadata alone, without fetching any weights?"""
    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", no_download)
    table = {row.name: row for row in budgets.reference_table()}
    assert list(table) == list(budgets.SEED_MODELS)
    for row in table.values():
        assert row.num_params == row.meta_num_params
        assert row.nbytes("fp32") == 4 * row.num_params
    # AlexNet's `classifier` is all three fully connected layers: only the convolutions remain.
    assert table["alexnet"].params_without_head == 2_469_696
    assert table["vgg19"].params_without_head == 20_024_384
    assert table["inception_v3"].input_size == 299
    assert table["densenet121"].acc1 == pytest.approx(74.434)
    # Keras-style count (running statistics as parameters) reproduces the seed's DenseNet-169.
    densenet169 = table["densenet169"]
    assert round((densenet169.params_without_head + densenet169.num_running_stats) / 1e6, 2) == 12.64


def test_regnet_fallback_restores_module_registration():
    """After a RegNet build (which cannot run under a meta device), do new modules register
    real parameters again?"""
    net = budgets.build_architecture("regnet_x_400mf", num_classes=10)
    assert all(p.is_meta for p in net.parameters())
    assert not nn.Linear(2, 2).weight.is_meta


def test_cpu_build_is_initialised():
    """Does a CPU build still get torchvision's weight initialisation (only meta skips it)?"""
    net = budgets.build_architecture("squeezenet1_1", num_classes=10, device="cpu")
    weights = net.features[0].weight
    assert weights.device.type == "cpu" and weights.abs().sum() > 0


def test_unknown_architecture_is_refused():
    """Does an unknown architecture name point to the list of known ones?"""
    with pytest.raises(ValueError, match="classification_models"):
        budgets.build_architecture("resnet19")


def test_flash_candidates_keep_the_fitting_ones_and_drop_big_ones():
    """Does the metadata screen keep every architecture that fits and rule out large ones?"""
    candidates = budgets.flash_candidates(MIB, "int8", num_classes=10)
    assert set(FITTING) <= set(candidates)
    assert "resnet18" not in candidates and "vgg19" not in candidates


@pytest.mark.slow
def test_every_classification_architecture_builds_and_obeys_the_screen():
    """Over all of torchvision's classifiers: does each head have at most MAX_HEAD_FEATURES
    inputs, does each meta count equal the metadata, and does exactly FITTING fit 1 MiB at int8?"""
    fits, widest = [], 0
    for name in budgets.classification_models():
        full = budgets.build_architecture(name)
        assert budgets.count_params(full) == budgets.default_weights(name).meta["num_params"], name
        linears = [m for m in budgets.classifier_head(full).modules() if isinstance(m, nn.Linear)]
        if linears:
            widest = max(widest, linears[-1].in_features)
        if budgets.param_bytes(budgets.count_params(budgets.build_architecture(name, 10)),
                               "int8") <= MIB:
            fits.append(name)
    assert widest == budgets.MAX_HEAD_FEATURES
    assert sorted(fits) == sorted(FITTING)
    assert set(fits) <= set(budgets.flash_candidates(MIB, "int8", num_classes=10))


# --- activation memory -----------------------------------------------------------------------


def test_activation_trace_by_hand():
    """Does the trace list each leaf layer's input and output elements, as counted by hand?"""
    trace = budgets.activation_trace(tiny_net(), (1, 8, 8))
    assert [(layer.kind, layer.input_elements, layer.output_elements) for layer in trace] == [
        ("Conv2d", 64, 256), ("ReLU", 256, 256), ("MaxPool2d", 256, 64), ("Flatten", 64, 64),
        ("Linear", 64, 10),
    ]
    assert budgets.peak_activation_bytes(tiny_net(), (1, 8, 8)) == 512 * 4
    assert budgets.peak_activation_bytes(tiny_net(), (1, 8, 8), "int8") == 512


def test_course_cnn_peak():
    """Is the course CNN's busiest layer its first ReLU (16 x 8 x 8 in and out)?"""
    net = digits_cnn(COURSE_WIDTH)
    trace = budgets.activation_trace(net, (1, 8, 8))
    busiest = max(trace, key=lambda layer: layer.elements)
    assert (busiest.name, busiest.elements) == ("features.1", 2 * 16 * 8 * 8)


def test_meta_trace_equals_cpu_trace():
    """Does tracing on the meta device give the same shapes as running real numbers?"""
    meta = budgets.build_architecture("squeezenet1_1", num_classes=10)
    cpu = budgets.build_architecture("squeezenet1_1", num_classes=10, device="cpu")
    assert budgets.activation_trace(meta, (3, 64, 64)) == budgets.activation_trace(cpu, (3, 64, 64))


def test_trace_leaves_the_net_as_it_found_it():
    """Are the hooks removed and the training mode restored, even when the forward fails?"""
    net = digits_cnn(COURSE_WIDTH).train()
    budgets.activation_trace(net, (1, 8, 8))
    assert net.training and all(not m._forward_hooks for m in net.modules())
    with pytest.raises(RuntimeError):
        budgets.activation_trace(net, (1, 16, 16))  # the flatten size is fixed for 8x8 inputs
    assert net.training and all(not m._forward_hooks for m in net.modules())


def test_trace_refuses_bad_input():
    """Are a non-module and a malformed input shape refused with clear errors?"""
    with pytest.raises(TypeError, match="nn.Module"):
        budgets.peak_activation_bytes("resnet18", (3, 224, 224))
    with pytest.raises(ValueError, match="input_shape"):
        budgets.activation_trace(tiny_net(), (1, 0, 8))
    with pytest.raises(ValueError, match="unknown dtype"):
        budgets.peak_activation_bytes(tiny_net(), (1, 8, 8), "int2")


# --- plots -----------------------------------------------------------------------------------


def test_size_chart_draws_a_log_axis_and_the_budget_line():
    """Does the size chart use a log axis, one bar per size, and a line at the budget?"""
    ax = plots.size_chart(["a", "b"], {"fp32": [4e6, 4e3], "int8": [1e6, 1e3]}, MIB)
    try:
        assert ax.get_xscale() == "log"
        assert len(ax.patches) == 4
        assert [line.get_xdata()[0] for line in ax.get_lines()] == [MIB]
    finally:
        plt.close(ax.figure)


def test_layer_bars_color_layers_over_budget():
    """Are layers over the budget drawn in another colour than those within it?"""
    ax = plots.layer_bars(["x", "y", "z"], [10, 300, 20], budget=100)
    try:
        colors = [bar.get_facecolor() for bar in ax.patches]
        assert colors[0] == colors[2] != colors[1]
    finally:
        plt.close(ax.figure)


def test_plot_helpers_refuse_bad_input():
    """Do mismatched or non-positive inputs raise ValueErrors instead of odd plots?"""
    with pytest.raises(ValueError, match="2 labels but 1 values"):
        plots.layer_bars(["x", "y"], [1])
    with pytest.raises(ValueError, match="> 0 on a log axis"):
        plots.size_chart(["a"], {"int8": [0]}, MIB)
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        plots.markdown_table(["a", "b"], [(1,)])


def test_markdown_table_and_human_bytes():
    """Is the Markdown table well formed, and are byte sizes written in binary units?"""
    assert plots.markdown_table(["a", "b"], [(1, 2)]) == "| a | b |\n|---|---|\n| 1 | 2 |"
    assert [plots.human_bytes(n) for n in (512, 2048, 3 * MIB, 5 * 1024**3)] == [
        "512 B", "2.0 KiB", "3.0 MiB", "5.0 GiB"]
