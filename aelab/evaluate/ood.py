"""Out-of-distribution scores: how well a per-image score (here the reconstruction error of an
autoencoder) separates images like the training data from images unlike it.

Functions take arrays and return numbers or ``dict[str, float]``; they know nothing about
training. Convention: a *higher* score means *more* out of distribution.

>>> import numpy as np
>>> auroc(np.array([0.1, 0.2, 0.3]), np.array([0.4, 0.5]))
1.0
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError


def per_image_errors(x: np.ndarray, x_rec: np.ndarray) -> dict[str, np.ndarray]:
    """Squared error per image: ``sse`` (summed over pixels) and ``mse`` (mean over pixels).

    Parameters
    ----------
    x, x_rec : array (N, ...)
        Images in [0, 1] (uint8 `x` is scaled by 1/255) and their reconstructions.

    Returns
    -------
    dict of numpy.ndarray, each of shape (N,)
    """
    x = np.asarray(x)
    x = x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)
    x_rec = np.asarray(x_rec, dtype=np.float64)
    if x.shape != x_rec.shape or x.ndim < 2:
        raise DataError(f"images and reconstructions must have the same shape (N, ...); got "
                        f"{x.shape} and {x_rec.shape}.")
    sse = ((x - x_rec) ** 2).reshape(len(x), -1).sum(1)
    return {"sse": sse, "mse": sse / x[0].size}


def _scores(scores_in, scores_out) -> tuple[np.ndarray, np.ndarray]:
    s_in = np.asarray(scores_in, dtype=np.float64).ravel()
    s_out = np.asarray(scores_out, dtype=np.float64).ravel()
    if len(s_in) == 0 or len(s_out) == 0:
        raise DataError(f"need at least one in- and one out-of-distribution score; got "
                        f"{len(s_in)} and {len(s_out)}.")
    if not (np.isfinite(s_in).all() and np.isfinite(s_out).all()):
        raise DataError("the scores contain NaN or infinite values; check the reconstructions.")
    return s_in, s_out


def auroc(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """Area under the ROC curve of `score` as a detector of out-of-distribution inputs.

    It is the probability that a random out-of-distribution image scores higher than a random
    in-distribution one (ties count one half): 1.0 separates perfectly, 0.5 is chance, and
    below 0.5 the out-of-distribution images look *more* typical than the real ones.

    Examples
    --------
    >>> auroc([0.0, 1.0], [0.5, 0.5])
    0.5
    """
    s_in, s_out = _scores(scores_in, scores_out)
    # Mann-Whitney U from the mid-ranks of the pooled scores (ties get their average rank).
    pooled = np.concatenate([s_in, s_out])
    order = np.argsort(pooled, kind="mergesort")
    ranks = np.empty(len(pooled))
    sorted_vals = pooled[order]
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])
    ends = np.r_[starts[1:], len(pooled)]
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + e + 1) / 2.0          # 1-based mid-rank
    u = ranks[len(s_in):].sum() - len(s_out) * (len(s_out) + 1) / 2.0
    return float(u / (len(s_in) * len(s_out)))


def fpr_at_tpr(scores_in: np.ndarray, scores_out: np.ndarray, tpr: float = 0.95) -> float:
    """Fraction of in-distribution images flagged when the threshold catches `tpr` of the
    out-of-distribution ones (lower is better; FPR at 95 % TPR is the usual summary)."""
    if not 0.0 < tpr <= 1.0:
        raise DataError(f"tpr must be in (0, 1]; got {tpr!r}.")
    s_in, s_out = _scores(scores_in, scores_out)
    # The largest threshold t with mean(s_out >= t) >= tpr.
    threshold = np.sort(s_out)[::-1][int(np.ceil(tpr * len(s_out))) - 1]
    return float(np.mean(s_in >= threshold))


def ood_summary(scores_in: np.ndarray, scores_out: np.ndarray) -> dict[str, float]:
    """``auroc`` and ``fpr_at_95_tpr`` of the score, plus the mean score of each side."""
    s_in, s_out = _scores(scores_in, scores_out)
    return {"auroc": auroc(s_in, s_out), "fpr_at_95_tpr": fpr_at_tpr(s_in, s_out, 0.95),
            "mean_in": float(s_in.mean()), "mean_out": float(s_out.mean())}
