"""Unsupervised clustering of codes, scored against the labels it never saw.

k-means and Gaussian-mixture clustering, optionally after a UMAP embedding (the N2D recipe of
McConville et al. 2019, https://arxiv.org/abs/1908.05968: autoencoder -> UMAP -> Gaussian
mixture). Scores: accuracy under the best one-to-one cluster-to-class matching (Hungarian
algorithm), NMI and ARI; and the confusion matrix after that matching. Functions take arrays
and return plain values; they know nothing about training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture

from ..errors import ConfigError, DataError

METHODS = ("kmeans", "gmm")


def _labels(y: Any, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{name} must be a 1-D array of labels; got shape {y.shape}.")
    return y


def match_clusters(y_true: Any, y_pred: Any) -> dict[int, int]:
    """The cluster -> class map that maximises the number of agreements (Hungarian).

    With more clusters than classes, the unmatched clusters map to new labels (counted wrong).
    """
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise DataError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}.")
    classes, clusters = np.unique(y_true), np.unique(y_pred)
    size = max(len(classes), len(clusters))
    counts = np.zeros((size, size), dtype=np.int64)       # counts[cluster, class]
    np.add.at(counts, (np.searchsorted(clusters, y_pred), np.searchsorted(classes, y_true)), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    spare = iter(range(int(classes.max()) + 1, int(classes.max()) + 1 + size))
    return {int(clusters[r]): int(classes[c]) if c < len(classes) else next(spare)
            for r, c in zip(rows, cols, strict=True) if r < len(clusters)}


def cluster_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Accuracy after the best matching, NMI and ARI of a clustering against the labels.

    Examples
    --------
    >>> cluster_scores([0, 0, 1, 1, 2], [2, 2, 0, 0, 1])["accuracy"]
    1.0
    """
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    mapping = match_clusters(y_true, y_pred)
    matched = np.vectorize(mapping.get, otypes=[np.int64])(y_pred)
    return {"accuracy": float(np.mean(matched == y_true)),
            "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
            "ari": float(adjusted_rand_score(y_true, y_pred))}


def matched_confusion(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """Confusion matrix (true class x matched cluster) after the Hungarian matching; the
    diagonal holds the correctly clustered images. Clusters left unmatched are dropped."""
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    n = int(n_classes or y_true.max() + 1)
    matched = np.vectorize(match_clusters(y_true, y_pred).get, otypes=[np.int64])(y_pred)
    keep = matched < n
    out = np.zeros((n, n), dtype=np.int64)
    np.add.at(out, (y_true[keep], matched[keep]), 1)
    return out


def umap_embed(z: Any, n_components: int = 10, *, seed: int = 0, n_neighbors: int = 20,
               min_dist: float = 0.0) -> np.ndarray:
    """UMAP embedding of codes (N2D's settings by default). Needs the optional ``umap-learn``
    (``pip install 'aelab[umap]'``)."""
    try:
        import umap
    except ImportError as e:
        raise ConfigError("UMAP needs the optional package umap-learn: pip install "
                          "'aelab[umap]' (or umap-learn), or cluster without UMAP.") from e
    reducer = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist,
                        metric="euclidean", random_state=seed, n_jobs=1)
    return reducer.fit_transform(np.asarray(z, dtype=np.float32))


def consensus(labelings: Any) -> np.ndarray:
    """One clustering from several of the same points: the medoid labeling (highest mean NMI
    to the others) is the reference, every labeling's clusters are matched to its clusters
    (Hungarian), and each point takes the label most labelings give it (ties: the
    reference's). A cluster ensemble in the spirit of Strehl and Ghosh (JMLR 2002).

    Examples
    --------
    >>> consensus([[0, 0, 1, 1], [1, 1, 0, 0], [0, 1, 1, 1]]).tolist()
    [0, 0, 1, 1]
    """
    runs = [_labels(np.asarray(labels), "each labeling") for labels in labelings]
    if not runs or len({len(r) for r in runs}) != 1:
        raise DataError("consensus needs one or more labelings of the same points; got "
                        f"lengths {[len(r) for r in runs]}.")
    agreement = np.array([[normalized_mutual_info_score(a, b) for b in runs] for a in runs])
    reference = runs[int(np.argmax(agreement.sum(1)))]
    labels = np.unique(reference)
    votes = np.zeros((len(reference), len(labels)), dtype=np.int64)
    for run in runs:
        mapping = match_clusters(reference, run)
        matched = np.vectorize(mapping.get, otypes=[np.int64])(run)
        known = np.isin(matched, labels)          # clusters the reference lacks get no vote
        votes[np.flatnonzero(known), np.searchsorted(labels, matched[known])] += 1
    votes *= 2                                   # odd only where the reference votes:
    votes[np.arange(len(reference)), np.searchsorted(labels, reference)] += 1   # breaks ties
    return labels[np.argmax(votes, axis=1)]


def cluster(z: Any, n_clusters: int, *, method: str = "kmeans", seed: int = 0,
            umap_components: int | None = None, n_init: int | None = None,
            umap_runs: int = 1) -> np.ndarray:
    """Cluster labels (N,) of codes z (N, d): k-means or a full-covariance Gaussian mixture,
    optionally on a UMAP embedding with `umap_components` dimensions.

    `n_init` restarts (default 10 for k-means, 1 for the mixture) keep the best fit: the
    lowest inertia, or the highest likelihood bound. `umap_runs` > 1 embeds and clusters
    that many times (seeds `seed`, `seed` + 1000, ...) and returns their `consensus`: UMAP
    followed by a mixture varies from run to run, and the vote steadies it."""
    if n_init is not None and (not isinstance(n_init, int) or n_init < 1):
        raise ConfigError(f"n_init must be a whole number of restarts >= 1; got {n_init!r}.")
    if not isinstance(umap_runs, int) or isinstance(umap_runs, bool) or umap_runs < 1:
        raise ConfigError(f"umap_runs must be a whole number >= 1; got {umap_runs!r}.")
    if umap_runs > 1 and umap_components is None:
        raise ConfigError(f"umap_runs={umap_runs} votes over UMAP embeddings, but "
                          "umap_components is not set; set it, or leave umap_runs at 1.")
    if method not in METHODS:
        raise ConfigError(f"clustering method {method!r} is not known; use one of "
                          f"{', '.join(METHODS)}.")
    z = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
    if not np.isfinite(z).all():
        raise DataError("the codes contain NaN or inf; the model's training diverged.")
    if umap_runs > 1:                       # umap_components is set (checked above)
        return consensus(cluster_runs(z, n_clusters, method=method, seed=seed,
                                      umap_components=umap_components, n_init=n_init,
                                      runs=umap_runs))
    if umap_components is not None:
        z = umap_embed(z, umap_components, seed=seed).astype(np.float64)
    if method == "kmeans":
        return KMeans(n_clusters, n_init=n_init or 10, random_state=seed).fit_predict(z)
    return GaussianMixture(n_clusters, covariance_type="full", n_init=n_init or 1,
                           random_state=seed).fit(z).predict(z)


def cluster_runs(z: Any, n_clusters: int, *, method: str = "gmm", seed: int = 0,
                 umap_components: int = 10, n_init: int | None = None, runs: int = 5
                 ) -> list[np.ndarray]:
    """The `runs` labelings that `cluster(..., umap_runs=runs)` votes over: UMAP with
    `umap_components` dimensions, then `method`, with seeds `seed`, `seed` + 1000, ...

    Score them one by one to see how far a single UMAP + mixture run can land from another
    on the same codes; pass them to `consensus` for the vote."""
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise ConfigError(f"runs must be a whole number >= 1; got {runs!r}.")
    if umap_components is None:
        raise ConfigError("cluster_runs repeats UMAP embeddings; set umap_components "
                          "(N2D uses as many as there are clusters).")
    return [cluster(z, n_clusters, method=method, seed=seed + 1000 * r,
                    umap_components=umap_components, n_init=n_init) for r in range(runs)]


def kmeans_scores(z: Any, y: Any, n_clusters: int | None = None, *, seed: int = 0
                  ) -> dict[str, float]:
    """k-means on codes z (N, d) with as many clusters as classes; accuracy, NMI, ARI."""
    y = _labels(y, "y")
    return cluster_scores(y, cluster(z, n_clusters or len(np.unique(y)), seed=seed))


__all__ = ["METHODS", "cluster", "cluster_runs", "cluster_scores", "consensus", "kmeans_scores",
           "match_clusters", "matched_confusion", "umap_embed"]
