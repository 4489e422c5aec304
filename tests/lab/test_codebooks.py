"""Does edgecourse.lab.codebooks cluster, pack and budget weights as lesson 06 teaches?"""

import numpy as np
import pytest
from sklearn.cluster import KMeans

from edgecourse.lab import codebooks as C


@pytest.mark.parametrize("k", [2, 5, 8])
def test_kmeans_equals_scikit_learn_from_the_same_init(k):
    """Do our centroids and labels equal scikit-learn's Lloyd from the linear init?"""
    values = np.random.default_rng(k).normal(size=400)  # no cluster empties (scikit-learn moves empty ones)
    centroids, labels = C.kmeans_1d(values, k)
    reference = KMeans(k, init=C.linear_init(values, k).reshape(-1, 1), n_init=1, tol=0,
                       max_iter=300, algorithm="lloyd").fit(values.reshape(-1, 1))
    np.testing.assert_allclose(centroids, reference.cluster_centers_.ravel(), rtol=1e-9)
    np.testing.assert_array_equal(labels, reference.labels_)


def test_kmeans_keeps_empty_clusters_and_breaks_ties_low():
    """Does an empty cluster keep its centroid, and a tie go to the lower index?"""
    centroids, labels = C.kmeans_1d(np.array([0.0, 0.0, 1.0]), 4)
    np.testing.assert_allclose(centroids, [0, 1 / 3, 2 / 3, 1])
    assert labels.tolist() == [0, 0, 3]
    centroids, labels = C.kmeans_1d(np.array([0.0, 0.5, 1.0]), 2)
    assert labels.tolist() == [0, 0, 1] and np.allclose(centroids, [0.25, 1.0])


@pytest.mark.parametrize("bits", range(1, 9))
def test_pack_unpack_round_trip_and_exact_size(bits):
    """Do packed indices take ceil(n*bits/8) bytes and read back unchanged, LSB first?"""
    idx = np.random.default_rng(bits).integers(0, 1 << bits, size=37)
    packed = C.pack_indices(idx, bits)
    assert len(packed) == C.packed_bytes(37, bits) == -(-37 * bits // 8)
    assert packed == sum(int(v) << (i * bits) for i, v in enumerate(idx)).to_bytes(len(packed), "little")
    np.testing.assert_array_equal(C.unpack_indices(packed, bits, 37), idx)


def test_pack_rejects_bad_input():
    """Do out-of-range indices, bad widths and short streams raise ValueError?"""
    with pytest.raises(ValueError, match="0..3"):
        C.pack_indices(np.array([4]), 2)
    with pytest.raises(ValueError, match="bits"):
        C.pack_indices(np.array([0]), 9)
    with pytest.raises(ValueError, match="fewer"):
        C.unpack_indices(b"\x00", 3, 4)


def test_choose_bits_least_loss_within_budget():
    """Does the plan minimise summed loss under the budget, edge included, and fail clearly?"""
    loss = {"a": {1: 5.0, 2: 1.0}, "b": {1: 0.5, 2: 0.0}}
    counts = {"a": 16, "b": 32}  # bytes: a 4 or 8, b 6 or 12
    assert C.choose_bits(loss, counts, 10_000) == {"a": 2, "b": 2}
    assert C.choose_bits(loss, counts, 14) == {"a": 2, "b": 1}  # exactly the budget fits
    assert C.choose_bits(loss, counts, 16) == {"a": 2, "b": 1}  # not (1, 2), which uses more
    assert C.choose_bits({"a": {1: 1.0, 2: 1.0}, "b": {2: 0.0}}, counts, 100) == {"a": 1, "b": 2}
    with pytest.raises(ValueError, match="no plan fits 9 bytes"):
        C.choose_bits(loss, counts, 9)
    assert C.codebook_bytes(72, 3) == 27 + 8 and C.codebook_bytes(10, 2, entry_bytes=4) == 3 + 16
