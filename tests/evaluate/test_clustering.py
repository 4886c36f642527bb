"""Clustering scores: Hungarian matching, NMI/ARI, the matched confusion matrix, and
k-means / Gaussian mixture on separable codes."""

from __future__ import annotations

import numpy as np
import pytest

from aelab.errors import ConfigError, DataError
from aelab.evaluate.clustering import (
    cluster,
    cluster_runs,
    cluster_scores,
    consensus,
    kmeans_scores,
    match_clusters,
    matched_confusion,
)


def test_accuracy_is_invariant_to_renaming_clusters():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    assert cluster_scores(y, np.array([2, 2, 0, 0, 1, 1, 1])) == {
        "accuracy": 1.0, "nmi": 1.0, "ari": 1.0}


def test_matching_is_one_to_one_and_maximises_agreement():
    # Greedy "majority class per cluster" would map both clusters to class 0 (2/4 right
    # each way); the one-to-one matching must give 0->0, 1->1: 3 of 4 right.
    y_true = np.array([0, 0, 0, 1])
    y_pred = np.array([0, 0, 1, 1])
    assert match_clusters(y_true, y_pred) == {0: 0, 1: 1}
    assert cluster_scores(y_true, y_pred)["accuracy"] == 0.75


def test_extra_clusters_count_as_wrong():
    y_true = np.array([0, 0, 1, 1])
    assert cluster_scores(y_true, np.array([0, 0, 1, 2]))["accuracy"] == 0.75


def test_matched_confusion_puts_the_agreements_on_the_diagonal():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    conf = matched_confusion(y_true, np.array([1, 1, 0, 2, 2, 2]))
    assert conf.sum() == 6 and np.trace(conf) == 5
    assert conf[1, 2] == 1


def test_mismatched_lengths_are_an_error():
    with pytest.raises(DataError, match="4 labels but y_pred has 3"):
        cluster_scores([0, 1, 0, 1], [0, 1, 1])


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10, size=(4, 5))
    y = np.repeat(np.arange(4), 50)
    return centres[y] + rng.normal(size=(200, 5)), y


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_separable_blobs_are_clustered_perfectly(blobs, method):
    z, y = blobs
    assert cluster_scores(y, cluster(z, 4, method=method))["accuracy"] == 1.0


def test_kmeans_scores_on_noise_are_poor(blobs):
    _, y = blobs
    z = np.random.default_rng(1).normal(size=(200, 5))
    assert kmeans_scores(z, y)["nmi"] < 0.2


def test_unknown_method_lists_the_methods(blobs):
    with pytest.raises(ConfigError, match="kmeans, gmm"):
        cluster(blobs[0], 4, method="dbscan")


def test_umap_then_gmm_separates_blobs(blobs):
    pytest.importorskip("umap", reason="umap-learn is an optional extra ([umap])")
    z, y = blobs
    assert cluster_scores(y, cluster(z, 4, method="gmm", umap_components=2))["accuracy"] == 1.0


def test_gmm_restarts_keep_a_perfect_fit_and_reject_nonsense(blobs):
    z, y = blobs
    assert cluster_scores(y, cluster(z, 4, method="gmm", n_init=3))["accuracy"] == 1.0
    with pytest.raises(ConfigError, match="n_init must be a whole number"):
        cluster(z, 4, method="gmm", n_init=0)


def test_consensus_undoes_renaming_and_outvotes_a_stray_labeling():
    truth = np.repeat(np.arange(3), 4)
    renamed = (truth + 1) % 3                                 # same partition, other names
    stray = truth.copy()
    stray[[0, 5, 9]] = [2, 0, 1]                              # three points misplaced
    voted = consensus([renamed, stray, truth, renamed])
    assert cluster_scores(truth, voted)["accuracy"] == 1.0
    assert voted.tolist() == renamed.tolist()    # the medoid (first of the tied) names them


def test_consensus_breaks_ties_with_the_medoid_labeling():
    a = np.array([0, 0, 1, 1, 2, 2])
    b = np.array([0, 0, 1, 1, 2, 1])
    # Two labelings: the medoid is the first in a tie of mean NMI; point 5 keeps its label.
    assert consensus([a, b]).tolist() == a.tolist()


def test_consensus_rejects_labelings_of_different_points():
    with pytest.raises(DataError, match="lengths \\[3, 2\\]"):
        consensus([[0, 1, 1], [0, 1]])
    with pytest.raises(DataError, match="one or more"):
        consensus([])


def test_umap_runs_vote_and_reject_nonsense(blobs):
    pytest.importorskip("umap", reason="umap-learn is an optional extra ([umap])")
    z, y = blobs
    labels = cluster(z, 4, method="gmm", umap_components=2, umap_runs=3)
    assert cluster_scores(y, labels)["accuracy"] == 1.0
    with pytest.raises(ConfigError, match="umap_runs must be a whole number"):
        cluster(z, 4, umap_components=2, umap_runs=0)
    with pytest.raises(ConfigError, match="umap_components is not set"):
        cluster(z, 4, umap_runs=3)


def test_cluster_runs_are_the_labelings_that_cluster_votes_over(blobs):
    pytest.importorskip("umap", reason="umap-learn is an optional extra ([umap])")
    z, _ = blobs
    runs = cluster_runs(z, 4, method="kmeans", seed=3, umap_components=2, runs=2)
    assert len(runs) == 2
    assert runs[1].tolist() == cluster(z, 4, method="kmeans", seed=1003,
                                       umap_components=2).tolist()
    assert consensus(runs).tolist() == cluster(z, 4, method="kmeans", seed=3,
                                               umap_components=2, umap_runs=2).tolist()
    with pytest.raises(ConfigError, match="runs must be a whole number"):
        cluster_runs(z, 4, runs=0)
    with pytest.raises(ConfigError, match="set umap_components"):
        cluster_runs(z, 4, umap_components=None)
