import numpy as np
import pytest

from aelab.errors import ConfigError, DataError
from aelab.evaluate.classification import (
    confusion_figure,
    confusion_matrix,
    fit_predict,
    standardize,
)


def _blobs(n=60, d=5, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    z = rng.normal(size=(n, d)) * 0.1 + np.eye(3, d)[y] * 5.0
    return z.astype(np.float32), y


@pytest.mark.parametrize("name", ["logistic", "knn", "mlp"])
def test_fit_predict_separates_blobs(name):
    z, y = _blobs()
    pred = fit_predict(name, z[:45], y[:45], z[45:], n_classes=3, mlp_epochs=100,
                       mlp_kwargs={"hidden": [16]}, device="cpu")
    assert pred.shape == (15,)
    assert (pred == y[45:]).mean() == 1.0


def test_fit_predict_unknown_classifier_lists_choices():
    z, y = _blobs()
    with pytest.raises(ConfigError, match="logistic, knn, mlp"):
        fit_predict("svm", z, y, z, n_classes=3)


def test_fit_predict_rejects_mismatched_feature_sizes():
    z, y = _blobs()
    with pytest.raises(DataError, match="same d"):
        fit_predict("knn", z, y, z[:, :3], n_classes=3)


def test_standardize_uses_training_statistics():
    a = np.array([[0.0, 1.0], [2.0, 1.0]])
    b = np.array([[4.0, 3.0]])
    sa, sb = standardize(a, b)
    assert sa[:, 0].tolist() == [-1.0, 1.0]
    assert sa[:, 1].tolist() == [0.0, 0.0]          # constant feature only centred
    assert sb.tolist() == [[3.0, 2.0]]


def test_confusion_matrix_counts_and_checks_labels():
    cm = confusion_matrix(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1]), 3)
    assert cm.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert cm.sum() == 4
    with pytest.raises(DataError, match="labels must lie"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)


def test_confusion_figure_writes_counts():
    fig = confusion_figure(np.array([[3, 1], [0, 4]]), ["a", "b"], "t")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["3", "1", "0", "4"]
    with pytest.raises(DataError, match="3 class names"):
        confusion_figure(np.eye(2), ["a", "b", "c"])
