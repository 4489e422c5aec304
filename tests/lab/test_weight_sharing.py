"""Does weight sharing on a torch network cluster, fine-tune and scan as lesson 06 says?"""

import copy

import numpy as np
import torch

from edgecourse.lab.data import load_digits_split
from edgecourse.lab.models import digits_cnn
from edgecourse.lab.seeding import set_seed
from edgecourse.lab.train import evaluate, fit
from edgecourse.lab.weight_sharing import (
    cluster_net,
    finetune_centroids,
    linear_quantize_net,
    sensitivity_scan,
    shared_layers,
)


def _net():
    set_seed(0)
    net = digits_cnn(1.0)
    fit(net, load_digits_split().train, epochs=3, progress=False)
    return net


def test_cluster_net_leaves_at_most_two_to_the_bits_values():
    """Does every shared layer hold at most 2**bits distinct weights, equal to its centroids?"""
    net = _net()
    clusters = cluster_net(net, {"features.3": 2, "classifier.1": 3})
    for name, bits in (("features.3", 2), ("classifier.1", 3)):
        w = shared_layers(net)[name].weight.detach().double().numpy()
        assert len(np.unique(w)) <= 2**bits
        c = clusters[name]
        np.testing.assert_allclose(w, c.centroids[c.labels], rtol=1e-6)
    assert len(np.unique(shared_layers(net)["features.0"].weight.detach().numpy())) > 16


def test_finetuning_moves_only_centroids_and_keeps_the_sharing():
    """Does fine-tuning keep labels and biases, move the centroids and restore plain weights?"""
    net = _net()
    data = load_digits_split()
    clusters = cluster_net(net, 2)
    biases = {n: m.bias.detach().clone() for n, m in shared_layers(net).items()}
    before = evaluate(net, data.val)
    tuned = finetune_centroids(net, clusters, data.train, epochs=2)
    for name, layer in shared_layers(net).items():
        assert type(layer.weight) is torch.nn.Parameter and layer.weight.requires_grad
        torch.testing.assert_close(layer.bias, biases[name])
        np.testing.assert_allclose(layer.weight.detach().double().numpy(),
                                   tuned[name].centroids[clusters[name].labels], rtol=1e-6)
    assert any(not np.allclose(tuned[n].centroids, clusters[n].centroids) for n in clusters)
    assert evaluate(net, data.val) >= before - 1.0


def test_centroid_gradient_is_the_sum_over_the_cluster():
    """Is a centroid's gradient, through the gather, the sum of its weights' gradients?"""
    labels = torch.tensor([[0, 1, 1], [2, 1, 0]])
    centroids = torch.zeros(3, requires_grad=True)
    grad = torch.arange(6.0).reshape(2, 3)
    (centroids[labels] * grad).sum().backward()
    torch.testing.assert_close(centroids.grad, torch.tensor([0.0 + 5, 1 + 2 + 4, 3]))


def test_linear_quantization_and_scan_do_not_touch_the_network():
    """Do the linear baseline and the sensitivity scan leave the caller's network unchanged?"""
    net = _net()
    original = copy.deepcopy(net.state_dict())
    q = linear_quantize_net(net, 3)
    assert len(np.unique(q.features[3].weight.detach().numpy())) <= 7
    scan = sensitivity_scan(net, load_digits_split().val, bits_options=(1, 4))
    assert set(scan) == set(shared_layers(net)) and all(set(r) == {1, 4} for r in scan.values())
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, original[key])


def test_shared_student_recipe_meets_its_budget():
    """Does lesson 06's recipe give a plan within its budget, each layer at its planned bits?"""
    from edgecourse.lab import recipes
    from edgecourse.lab.codebooks import codebook_bytes

    plan = recipes.shared_plan()
    net = recipes.shared_student()
    layers = shared_layers(net)
    assert sum(codebook_bytes(layers[n].weight.numel(), b) for n, b in plan.items()) \
        <= recipes.SHARED_BUDGET_BYTES
    for name, bits in plan.items():
        assert len(np.unique(layers[name].weight.detach().numpy())) <= 2**bits
