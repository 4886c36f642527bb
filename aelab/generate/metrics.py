"""How good and how varied generated images are, as seen by a judge classifier.

- Quality: the judge's **recognition rate** (share of samples it labels as the intended class)
  and its **mean confidence** (mean probability of the intended class).
- Diversity, in the judge's feature space (``judge.features``, the layer before its logits):
  the **mean pairwise distance** between samples, and the **number of modes** they cover:
  the real images of the class are clustered into `k` modes (k-means), and a mode counts as
  covered when at least `min_share` of the samples fall nearest to it. The same figures for
  as many real images of the class are the yardstick.
- **Fréchet distance in the judge's feature space** between generated and real images: the
  formula of FID (Heusel et al. 2017, https://arxiv.org/abs/1706.08500) applied to the judge's
  features. It is NOT the Inception FID: numbers are comparable only between samples judged by
  the same judge, never with published FIDs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import scipy.linalg
import torch
from sklearn.cluster import KMeans
from torch import nn

from ..errors import DataError
from ..train.classify import features, predict_logits

__all__ = ["frechet_distance", "judge_scores", "mean_pairwise_distance", "modes_covered",
           "sample_metrics"]


def judge_scores(judge: nn.Module, images: np.ndarray, target: int) -> dict[str, float]:
    """``recognition_rate`` and ``mean_confidence`` of uint8 `images` meant to be `target`."""
    if len(images) == 0:
        raise DataError("no images to judge.")
    prob = torch.softmax(predict_logits(judge, images), 1).numpy()
    return {"recognition_rate": float((prob.argmax(1) == target).mean()),
            "mean_confidence": float(prob[:, target].mean())}


def mean_pairwise_distance(feats: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs of distinct rows of `feats` (N, d)."""
    f = torch.as_tensor(np.asarray(feats), dtype=torch.float64)
    n = len(f)
    if n < 2:
        raise DataError(f"a pairwise distance needs at least 2 samples; got {n}.")
    return float(torch.cdist(f, f).sum() / (n * (n - 1)))


def modes_covered(feats: np.ndarray, reference: np.ndarray, *, k: int = 10,
                  min_share: float = 0.02, seed: int = 0) -> int:
    """How many of the `k` k-means modes of `reference` (real features) receive at least
    `min_share` of the rows of `feats` as their nearest mode."""
    if len(reference) < k:
        raise DataError(f"{len(reference)} reference samples cannot define {k} modes.")
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(np.asarray(reference, np.float64))
    counts = np.bincount(km.predict(np.asarray(feats, np.float64)), minlength=k)
    return int((counts >= min_share * len(feats)).sum())


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, d):
    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``."""
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if len(a) < 2 or len(b) < 2 or a.shape[1] != b.shape[1]:
        raise DataError(f"Fréchet distance needs two sets of >= 2 feature rows of equal width; "
                        f"got {a.shape} and {b.shape}.")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():   # singular products are common (ReLU features)
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(covmean).all():   # regularize, as pytorch-fid does
            eps = 1e-6 * np.eye(len(cov_a))
            covmean = scipy.linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    covmean = covmean.real
    value = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean)
    return float(max(value, 0.0))


def sample_metrics(judge: nn.Module, generated: Mapping[int, np.ndarray],
                   real: Mapping[int, np.ndarray], *, k: int = 10, min_share: float = 0.02,
                   seed: int = 0) -> tuple[dict[str, float], list[dict]]:
    """All the figures above for generated images per class, against real images per class.

    Parameters
    ----------
    judge : nn.Module
        The reference classifier (`aelab.judge.load_judge`).
    generated : mapping class -> uint8 images (N, C, H, W)
    real : mapping class -> uint8 images of held-out real data (e.g. the test set); each
        class's images are split in two halves: one defines the modes, the other (subsampled
        to as many images as were generated) gives the real yardstick.

    Returns
    -------
    (summary, per_class)
        `summary`: the means over classes of recognition_rate, mean_confidence, diversity,
        diversity_real, modes, modes_real, and ``frechet_judge`` (all generated vs all real
        images pooled) with ``frechet_judge_real`` (one real half vs the other, the floor a
        perfect generator would reach with as many samples). `per_class`: one dict a class.
    """
    rng = np.random.default_rng(seed)
    rows, gen_feats, real_feats, ref_feats = [], [], [], []
    for c, images in generated.items():
        reals = real[c][rng.permutation(len(real[c]))]
        half = len(reals) // 2
        n = min(len(images), len(reals) - half)
        f_gen = features(judge, images)
        f_ref = features(judge, reals[:half])
        f_real = features(judge, reals[half:half + n])
        row = {"class": int(c), "n": len(images)} | judge_scores(judge, images, int(c))
        row |= {"diversity": mean_pairwise_distance(f_gen),
                "diversity_real": mean_pairwise_distance(f_real),
                "modes": modes_covered(f_gen, f_ref, k=k, min_share=min_share, seed=seed),
                "modes_real": modes_covered(f_real, f_ref, k=k, min_share=min_share, seed=seed)}
        rows.append(row)
        gen_feats.append(f_gen)
        real_feats.append(f_real)
        ref_feats.append(f_ref)
    keys = ("recognition_rate", "mean_confidence", "diversity", "diversity_real", "modes",
            "modes_real")
    summary = {key: float(np.mean([r[key] for r in rows])) for key in keys}
    all_gen, all_real = np.concatenate(gen_feats), np.concatenate(real_feats)
    summary["frechet_judge"] = frechet_distance(all_gen, all_real)
    summary["frechet_judge_real"] = frechet_distance(np.concatenate(ref_feats), all_real) \
        if len(all_real) > 1 else math.nan
    return summary, rows
