import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from aelab.errors import DataError
from aelab.evaluate.ood import auroc, fpr_at_tpr, ood_summary, per_image_errors


def test_auroc_perfect_reversed_and_chance():
    assert auroc([0.1, 0.2], [0.3, 0.4]) == 1.0
    assert auroc([0.3, 0.4], [0.1, 0.2]) == 0.0
    assert auroc([1.0, 1.0], [1.0, 1.0]) == 0.5


def test_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    s_in = rng.integers(0, 6, 200).astype(float)
    s_out = rng.integers(2, 9, 150).astype(float)
    expected = roc_auc_score(np.r_[np.zeros(200), np.ones(150)], np.r_[s_in, s_out])
    assert auroc(s_in, s_out) == pytest.approx(expected, abs=1e-12)


def test_fpr_at_tpr_counts_in_distribution_above_threshold():
    s_in = np.arange(10.0)                  # 0..9
    s_out = np.array([5.0, 6.0, 7.0, 8.0])  # 95 % TPR needs all four -> threshold 5
    assert fpr_at_tpr(s_in, s_out, 0.95) == pytest.approx(0.5)
    assert fpr_at_tpr(s_in, s_out, 0.5) == pytest.approx(0.3)   # threshold 7


def test_per_image_errors_scales_uint8_and_sums_pixels():
    x = np.full((2, 1, 2, 2), 255, dtype=np.uint8)
    rec = np.zeros((2, 1, 2, 2), dtype=np.float32)
    rec[1] = 0.5
    err = per_image_errors(x, rec)
    assert err["sse"].tolist() == pytest.approx([4.0, 1.0])
    assert err["mse"].tolist() == pytest.approx([1.0, 0.25])


def test_per_image_errors_rejects_mismatched_shapes():
    with pytest.raises(DataError, match="same shape"):
        per_image_errors(np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 4, 3)))


def test_scores_must_be_finite_and_non_empty():
    with pytest.raises(DataError, match="at least one"):
        auroc([], [1.0])
    with pytest.raises(DataError, match="NaN"):
        ood_summary([np.nan], [1.0])


def test_ood_summary_keys_and_means():
    out = ood_summary([0.0, 1.0], [2.0, 4.0])
    assert out == {"auroc": 1.0, "fpr_at_95_tpr": 0.0, "mean_in": 0.5, "mean_out": 3.0}
