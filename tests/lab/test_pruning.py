"""Do the pruning helpers (lesson 02) agree with torch.nn.utils.prune, scipy and hand counts?"""

import copy
import math

import numpy as np
import pytest
import scipy.sparse
import torch
import torch.nn.utils.prune as prune
from torch import nn

from edgecourse.lab import pruning
from edgecourse.lab.budgets import count_params
from edgecourse.lab.data import Split, load_digits_split
from edgecourse.lab.models import DigitsCNN, digits_cnn
from edgecourse.lab.seeding import set_seed
from edgecourse.lab.train import evaluate, fit


def fresh_net(width: float = 1.0, seed: int = 0) -> DigitsCNN:
    set_seed(seed)
    return digits_cnn(width)


def small_train(n: int = 200) -> Split:
    train = load_digits_split().train
    return Split(train.X[:n], train.y[:n])


# --- magnitude masks ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(7,), (10, 64), (16, 1, 3, 3), (32, 16, 3, 3)])
@pytest.mark.parametrize("sparsity", [0.0, 0.04, 0.3, 0.5, 0.8, 0.97])
def test_magnitude_mask_equals_l1_unstructured(shape, sparsity):
    """Does magnitude_mask prune exactly the weights prune.l1_unstructured prunes?"""
    set_seed(1)
    weight = torch.randn(shape)
    mask = pruning.magnitude_mask(weight, sparsity)
    holder = nn.Module()
    holder.weight = nn.Parameter(weight.clone())
    prune.l1_unstructured(holder, "weight", amount=sparsity)
    assert torch.equal(mask, holder.weight_mask)
    assert int((mask == 0).sum()) == round(sparsity * weight.numel())
    assert mask.shape == weight.shape and mask.dtype == weight.dtype


def test_magnitude_mask_breaks_ties_by_flat_index():
    """Do equal magnitudes (already-zero weights included) still give exactly k zeros, first ones first?"""
    assert torch.equal(pruning.magnitude_mask(torch.ones(10), 0.3),
                       torch.tensor([0.0, 0, 0, 1, 1, 1, 1, 1, 1, 1]))
    weight = torch.tensor([0.0, 0.0, 0.0, 0.5, -0.2, 0.0, 0.9])
    assert torch.equal(pruning.magnitude_mask(weight, 0.43), torch.tensor([0.0, 0, 0, 1, 1, 1, 1]))


def test_magnitude_mask_prunes_by_magnitude_not_value():
    """Is a large negative weight kept and a small negative one pruned?"""
    weight = torch.tensor([[-5.0, 0.1], [0.2, -0.05]])
    assert torch.equal(pruning.magnitude_mask(weight, 0.5), torch.tensor([[1.0, 0], [1, 0]]))


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5, float("nan")])
def test_sparsity_outside_unit_interval_is_a_value_error(bad):
    """Does a sparsity outside [0, 1) raise a ValueError that says what is allowed?"""
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        pruning.magnitude_mask(torch.randn(4), bad)


@pytest.mark.parametrize("bad", ["0.5", None, True])
def test_sparsity_of_the_wrong_type_is_a_type_error(bad):
    """Is a sparsity that is not a number refused with a TypeError?"""
    with pytest.raises(TypeError, match="sparsity"):
        pruning.magnitude_mask(torch.randn(4), bad)


def test_magnitude_mask_refuses_what_is_not_a_tensor():
    """Does a numpy array get a TypeError naming the expected type?"""
    with pytest.raises(TypeError, match="torch.Tensor"):
        pruning.magnitude_mask(np.ones(4), 0.5)


# --- per-layer and global ----------------------------------------------------------------------

def test_prunable_weights_are_conv_and_linear_weights_only():
    """Are biases left out of pruning?"""
    names = list(pruning.prunable_weights(fresh_net()))
    assert names == ["features.0.weight", "features.3.weight", "classifier.1.weight",
                     "classifier.3.weight"]


def test_global_masks_equal_global_unstructured():
    """Does one shared threshold prune exactly what prune.global_unstructured prunes?"""
    net = fresh_net(2.0)
    masks = pruning.global_masks(net, 0.8)
    ref = copy.deepcopy(net)
    params = [(m, "weight") for m in ref.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.8)
    for (module, _), name in zip(params, masks, strict=True):
        assert torch.equal(masks[name], module.weight_mask), name
    total = sum(m.numel() for m in masks.values())
    assert sum(int((m == 0).sum()) for m in masks.values()) == round(0.8 * total)


def test_global_masks_differ_from_layer_masks_at_the_same_sparsity():
    """Do global thresholds spread the zeros unevenly, per-layer ones evenly?"""
    net = fresh_net(2.0)
    per_layer = pruning.layer_masks(net, 0.5)
    for name, mask in per_layer.items():
        assert int((mask == 0).sum()) == round(0.5 * mask.numel()), name
    trained = fresh_net(2.0)
    fit(trained, small_train(), epochs=2, progress=False)
    shared = pruning.global_masks(trained, 0.5)
    assert len({round(1 - m.mean().item(), 3) for m in shared.values()}) > 1


def test_layer_masks_with_a_mapping_prunes_only_the_named_layers():
    """Does a {name: sparsity} mapping leave the other layers dense, and reject unknown names?"""
    net = fresh_net()
    masks = pruning.layer_masks(net, {"features.3.weight": 0.9})
    assert int((masks["features.3.weight"] == 0).sum()) == round(0.9 * masks["features.3.weight"].numel())
    assert all(torch.equal(m, torch.ones_like(m)) for n, m in masks.items() if n != "features.3.weight")
    with pytest.raises(ValueError, match="unknown weight name"):
        pruning.layer_masks(net, {"features.0.bias": 0.5})


# --- keeping masks through training ------------------------------------------------------------

def test_mask_after_step_keeps_pruned_weights_zero_through_fit():
    """Do the zeros survive Adam when the masks go back on after every step, and only then?"""
    data = small_train()
    held, lost = fresh_net(), fresh_net()
    for net, after_step in ((held, True), (lost, False)):
        masks = pruning.global_masks(net, 0.7)
        pruning.apply_masks(net, masks)
        fit(net, data, epochs=1, progress=False,
            after_step=pruning.mask_after_step(masks) if after_step else None)
    assert pruning.weight_sparsity(held) == pytest.approx(0.7, abs=1e-3)
    assert pruning.weight_sparsity(lost) < 0.4, "without re-applying, Adam revives pruned weights"


def test_apply_masks_checks_names_and_shapes():
    """Does a mask for a missing parameter, or of the wrong shape, raise a ValueError?"""
    net = fresh_net()
    with pytest.raises(ValueError, match="does not have"):
        pruning.apply_masks(net, {"nope.weight": torch.ones(3)})
    with pytest.raises(ValueError, match="shape"):
        pruning.apply_masks(net, {"features.0.weight": torch.ones(3)})


def test_iterative_prune_validates_its_schedule():
    """Are an empty, decreasing or out-of-range schedule refused?"""
    net, data = fresh_net(), small_train()
    for schedule, match in (((), "empty"), ((0.8, 0.5), "decrease"), ((0.5, 1.0), r"\[0, 1\)")):
        with pytest.raises(ValueError, match=match):
            pruning.iterative_prune(net, data, schedule, epochs=1, progress=False)


def test_iterative_prune_reaches_each_step_and_reports_it():
    """Is the net at each scheduled sparsity after fine-tuning, as on_step sees it?"""
    seen = []
    net = fresh_net()
    pruning.iterative_prune(net, small_train(), (0.3, 0.6), epochs=1, progress=False,
                            on_step=lambda s, m: seen.append((s, pruning.weight_sparsity(m))))
    assert [s for s, _ in seen] == [0.3, 0.6]
    assert all(abs(s - measured) < 1e-3 for s, measured in seen)


def test_pruned_course_model_meets_the_lesson_target():
    """Is the recipe's model at least 80% sparse within 1 point of the dense test accuracy?"""
    from edgecourse.lab.recipes import course_model

    test = load_digits_split().test
    pruned = pruning.pruned_course_model()
    assert pruning.weight_sparsity(pruned) >= 0.8
    assert evaluate(course_model(), test) - evaluate(pruned, test) <= 1.0
    assert pruning.pruned_course_model() is not pruned, "each call returns a fresh copy"


# --- channel pruning ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad_shape", [(16,), (4, 4, 4)])
def test_channel_pruning_rejects_tensors_of_the_wrong_rank(bad_shape):
    """Does a bias (1-D) or a 3-D tensor get a ValueError naming the ranks that work?"""
    with pytest.raises(ValueError, match="2-D.*4-D"):
        pruning.keep_channels(torch.randn(bad_shape), 0.5)


def test_keep_channels_equals_ln_structured():
    """Do the kept channels match prune.ln_structured's mask (L2 norm, dim 0)?"""
    set_seed(2)
    for shape in ((32, 16, 3, 3), (64, 128)):
        weight = torch.randn(shape)
        holder = nn.Module()
        holder.weight = nn.Parameter(weight.clone())
        prune.ln_structured(holder, "weight", amount=0.5, n=2, dim=0)
        assert torch.equal(pruning.keep_channels(weight, 0.5),
                           holder.weight_mask.flatten(1)[:, 0].nonzero().flatten())


def test_keep_channels_refuses_to_remove_every_channel():
    """Is an amount that would drop all channels refused?"""
    with pytest.raises(ValueError, match="keep at least one"):
        pruning.keep_channels(torch.randn(1, 3), 0.9)


@pytest.mark.parametrize("amount, hidden_amount", [(0.25, 0.0), (0.5, 0.0), (0.8, 0.5)])
def test_prune_channels_computes_what_the_big_net_computes_with_those_channels_zeroed(
    amount, hidden_amount,
):
    """Does the rebuilt small network equal the big one with the dropped channels zeroed?"""
    net = fresh_net(2.0)
    fit(net, small_train(), epochs=1, progress=False)
    before = copy.deepcopy(net.state_dict())
    small = pruning.prune_channels(net, amount, hidden_amount=hidden_amount)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items()), "net changed"
    masked = copy.deepcopy(net)
    with torch.no_grad():
        for layer, a in ((masked.features[0], amount), (masked.features[3], amount),
                         (masked.classifier[1], hidden_amount)):
            dropped = torch.ones(layer.weight.shape[0], dtype=torch.bool)
            dropped[pruning.keep_channels(layer.weight, a)] = False
            layer.weight[dropped] = 0
            layer.bias[dropped] = 0
    X = load_digits_split().test.X[:50]
    torch.testing.assert_close(small(X), masked(X), atol=1e-5, rtol=1e-5)
    c1, c2 = net.channels
    assert small.channels == (c1 - round(amount * c1), c2 - round(amount * c2))
    assert small.features[3].in_channels == small.channels[0], "conv2's inputs follow conv1"
    assert small.classifier[1].in_features == 4 * small.channels[1], "fc1's inputs follow conv2"
    assert small.hidden == net.hidden - round(hidden_amount * net.hidden)
    assert count_params(small) < count_params(net)
    assert pruning.count_macs(small) < pruning.count_macs(net)


def test_prune_channels_wants_a_digits_cnn():
    """Is a model prune_channels cannot rebuild refused with a TypeError?"""
    with pytest.raises(TypeError, match="DigitsCNN"):
        pruning.prune_channels(nn.Sequential(nn.Linear(2, 2)), 0.5)


# --- counting ----------------------------------------------------------------------------------

def test_count_macs_matches_the_hand_count():
    """Are the course CNN's MACs what the layer shapes say, and do zeros count only if asked?"""
    net = fresh_net(2.0)
    by_hand = 16 * 9 * 8 * 8 + 32 * 16 * 9 * 4 * 4 + 128 * 64 + 64 * 10
    assert pruning.count_macs(net) == by_hand
    pruning.apply_masks(net, pruning.global_masks(net, 0.5))
    assert pruning.count_macs(net) == by_hand
    assert pruning.count_macs(net, nonzero_only=True) < by_hand
    with pytest.raises(ValueError, match="batch 1"):
        pruning.count_macs(net, (2, 1, 8, 8))


def test_sparsity_and_params_counts():
    """Do the zero and parameter counts agree with a direct count?"""
    net = fresh_net()
    pruning.apply_masks(net, pruning.global_masks(net, 0.6))
    weights = pruning.prunable_weights(net).values()
    total = sum(w.numel() for w in weights)
    assert pruning.weight_sparsity(net) == pytest.approx(round(0.6 * total) / total)
    assert count_params(net) == sum(p.numel() for p in net.parameters())
    assert count_params(net, nonzero_only=True) == count_params(net) - round(0.6 * total)
    head = sum(p.numel() for p in net.classifier.parameters())
    assert count_params(net, include_head=False) == count_params(net) - head
    head_nonzero = sum(int(torch.count_nonzero(p)) for p in net.classifier.parameters())
    assert count_params(net, include_head=False, nonzero_only=True) == (
        count_params(net, nonzero_only=True) - head_nonzero)
    assert pruning.tensor_sparsity(torch.tensor([0.0, 1.0, 0.0, 2.0])) == 0.5


# --- sparse encodings and bytes ----------------------------------------------------------------

def sparse_weight(shape=(64, 128), sparsity=0.8, seed=0) -> torch.Tensor:
    set_seed(seed)
    weight = torch.randn(shape)
    return weight * pruning.magnitude_mask(weight, sparsity)


@pytest.mark.parametrize("shape", [(13,), (64, 128), (16, 1, 3, 3)])
def test_bitmask_round_trip_and_byte_count(shape):
    """Does the bitmask decode exactly, at ceil(N/8) + 4 nnz bytes?"""
    weight = sparse_weight(shape)
    bits, values = pruning.bitmask_encode(weight)
    assert len(bits) == math.ceil(weight.numel() / 8)
    assert len(values) == 4 * int(torch.count_nonzero(weight))
    assert torch.equal(pruning.bitmask_decode(bits, values, shape), weight)


def test_bitmask_puts_the_first_weight_in_the_most_significant_bit():
    """Is the bit order the one np.packbits uses (first weight = 0x80)?"""
    bits, values = pruning.bitmask_encode(torch.tensor([1.0, 0, 0, 0, 0, 0, 0, 0, 2.0]))
    assert bits == bytes([0x80, 0x80])
    assert np.frombuffer(values, np.float32).tolist() == [1.0, 2.0]


def test_bitmask_decode_rejects_inconsistent_input():
    """Are a mask of the wrong length and a wrong number of values refused?"""
    bits, values = pruning.bitmask_encode(sparse_weight((16,)))
    with pytest.raises(ValueError, match="mask bytes"):
        pruning.bitmask_decode(bits, values, (100,))
    with pytest.raises(ValueError, match="values"):
        pruning.bitmask_decode(bits, values[:-4], (16,))


@pytest.mark.parametrize("shape", [(64, 128), (32, 16, 3, 3), (10, 300)])
def test_csr_equals_scipy_and_round_trips(shape):
    """Are our CSR arrays scipy's, with the narrowest index types, and do they decode exactly?"""
    weight = sparse_weight(shape, 0.9)
    csr = pruning.csr_encode(weight)
    ref = scipy.sparse.csr_matrix(weight.reshape(shape[0], -1).numpy())
    np.testing.assert_array_equal(csr.indptr, ref.indptr)
    np.testing.assert_array_equal(csr.indices, ref.indices)
    np.testing.assert_array_equal(csr.values, ref.data)
    assert csr.indices.dtype == (np.uint8 if np.prod(shape[1:]) <= 256 else np.uint16)
    nnz = int(torch.count_nonzero(weight))
    assert csr.nbytes == len(csr.to_bytes()) == csr.indptr.nbytes + nnz * (4 + csr.indices.itemsize)
    # scipy reads the three arrays back into the same dense weight
    decoded = scipy.sparse.csr_matrix((csr.values, csr.indices, csr.indptr), shape=ref.shape)
    np.testing.assert_array_equal(decoded.toarray().reshape(shape), weight.numpy())


def test_csr_needs_rows():
    """Is a 1-D tensor refused by CSR?"""
    with pytest.raises(ValueError, match="rows"):
        pruning.csr_encode(torch.ones(5))


def test_zeros_save_no_bytes_until_encoded():
    """Is the dense file the same size after pruning, while the sparse encodings shrink?"""
    dense_net = fresh_net(2.0)
    pruned = copy.deepcopy(dense_net)
    pruning.apply_masks(pruned, pruning.global_masks(pruned, 0.9))
    assert pruning.state_dict_bytes(pruned) == pruning.state_dict_bytes(dense_net)
    before, after = pruning.sparse_sizes(dense_net), pruning.sparse_sizes(pruned)
    numel = sum(w.numel() for w in pruning.prunable_weights(dense_net).values())
    assert before["dense"] == after["dense"] == 4 * numel
    assert after["bitmask"] < before["dense"] / 3 and after["csr"] < before["dense"] / 3
    assert after["dense_gzip"] < before["dense_gzip"]
    # 90% sparse is past the 87.5% break-even: CSR beats the bitmask
    assert after["csr"] < after["bitmask"]


def test_gzip_size_is_deterministic():
    """Does gzip_size give the same count every time (no timestamp in the header)?"""
    data = bytes(range(256)) * 10
    assert pruning.gzip_size(data) == pruning.gzip_size(bytes(data))
    assert pruning.gzip_size(bytes(4096)) < 100
