"""Sample metrics: each checked against a case whose answer is known."""

import numpy as np
import pytest
import torch

from aelab.generate import metrics
from aelab.models.classifier import create_classifier


def test_frechet_distance_of_a_set_with_itself_is_zero():
    f = np.random.default_rng(0).normal(size=(200, 5))
    assert metrics.frechet_distance(f, f) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_shifted_gaussians_is_the_squared_shift():
    f = np.random.default_rng(0).normal(size=(500, 3))
    assert metrics.frechet_distance(f, f + [2.0, 0.0, 0.0]) == pytest.approx(4.0, abs=1e-6)


def test_frechet_distance_grows_with_a_change_of_spread():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4))
    # same distribution: close to 0; one with twice the std: sum (2-1)^2 = 4 dims * 1
    assert metrics.frechet_distance(a, b) < 0.1
    assert metrics.frechet_distance(a, 2 * b) == pytest.approx(4.0, rel=0.1)


def test_mean_pairwise_distance_of_two_points():
    assert metrics.mean_pairwise_distance(np.array([[0.0, 0.0], [3.0, 4.0]])) == 5.0


def test_mean_pairwise_distance_of_identical_samples_is_zero():
    assert metrics.mean_pairwise_distance(np.ones((10, 3))) == 0.0


def test_modes_covered_counts_collapsed_samples_as_one_mode():
    rng = np.random.default_rng(0)
    centres = np.eye(4) * 10
    reference = np.concatenate([c + rng.normal(size=(50, 4)) for c in centres])
    spread_out = np.concatenate([c + rng.normal(size=(25, 4)) for c in centres])
    collapsed = centres[2] + rng.normal(size=(100, 4))
    assert metrics.modes_covered(spread_out, reference, k=4) == 4
    assert metrics.modes_covered(collapsed, reference, k=4) == 1


def test_judge_scores_recognition_and_confidence():
    judge = create_classifier("mlp", (1, 2, 2), 2, hidden=[2])
    with torch.no_grad():
        for p in judge.parameters():
            p.zero_()
        judge.out.bias.copy_(torch.tensor([0.0, np.log(3.0)]))   # p(class 1) = 0.75
    images = np.zeros((4, 1, 2, 2), np.uint8)
    s1 = metrics.judge_scores(judge, images, 1)
    s0 = metrics.judge_scores(judge, images, 0)
    assert s1 == pytest.approx({"recognition_rate": 1.0, "mean_confidence": 0.75})
    assert s0 == pytest.approx({"recognition_rate": 0.0, "mean_confidence": 0.25})


def test_sample_metrics_real_images_score_like_real_images(tiny_images):
    # Generated == real images of the same distribution: diversity near the real one.
    torch.manual_seed(0)
    judge = create_classifier("mlp", (1, 8, 8), 2, hidden=[8])
    real = {0: tiny_images[:32], 1: tiny_images[32:]}
    summary, rows = metrics.sample_metrics(judge, {0: tiny_images[:16], 1: tiny_images[32:48]},
                                           real, k=3)
    assert len(rows) == 2 and {r["class"] for r in rows} == {0, 1}
    assert summary["diversity"] == pytest.approx(summary["diversity_real"], rel=0.5)
    blank = {0: np.zeros((16, 1, 8, 8), np.uint8), 1: np.zeros((16, 1, 8, 8), np.uint8)}
    collapsed, _ = metrics.sample_metrics(judge, blank, real, k=3)
    assert collapsed["diversity"] == 0.0 and collapsed["modes"] <= 1
    assert collapsed["frechet_judge"] > summary["frechet_judge"]
