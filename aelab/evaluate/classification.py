"""Classifiers on fixed features (pixels, PCA components, autoencoder codes) and confusion
matrices.

`fit_predict` trains one of the three classifiers of the features study on (z_train, y_train)
and predicts z_test: ``logistic`` (scikit-learn's multinomial logistic regression), ``knn``
(k nearest neighbours, Euclidean; k = 4 as in the KMNIST paper's baselines) and ``mlp``
(`aelab.models.classifier.MLPClassifier`, 1000-500-500 by default, trained with
`aelab.train.classify.train_classifier`). Features are used as given; standardize them first
when their scale is arbitrary (`standardize`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from ..errors import ConfigError, DataError

CLASSIFIERS = ("logistic", "knn", "mlp")


def standardize(z_train: np.ndarray, z_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale each feature to mean 0 and standard deviation 1 on the training rows (constant
    features are only centred); apply the same to the test rows. Returns float32 arrays."""
    mean = z_train.mean(0, dtype=np.float64)
    std = z_train.std(0, dtype=np.float64)
    std[std < 1e-8] = 1.0
    return (((z_train - mean) / std).astype(np.float32),
            ((z_test - mean) / std).astype(np.float32))


def fit_predict(name: str, z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, *,
                n_classes: int, seed: int = 0, k: int = 4, mlp_epochs: int = 15,
                mlp_kwargs: dict | None = None, logistic_max_iter: int = 300,
                device: str = "auto") -> np.ndarray:
    """Train classifier `name` on the training features and return its test predictions.

    Parameters
    ----------
    name : {"logistic", "knn", "mlp"}
    z_train, z_test : array (N, d)
        Features (float).
    y_train : array (N,)
        Integer labels in [0, n_classes).
    n_classes : int
    seed : int
        Seeds the MLP's initialisation and batch order.
    k : int
        Neighbours of ``knn``.
    mlp_epochs, mlp_kwargs :
        Epochs and constructor options (e.g. ``hidden=[256]``) of the ``mlp``.

    Returns
    -------
    numpy.ndarray of int, shape (len(z_test),)

    Raises
    ------
    ConfigError
        For an unknown classifier name.
    DataError
        When the feature arrays are not 2-D with the same number of columns.
    """
    if name not in CLASSIFIERS:
        raise ConfigError(f"classifier {name!r} is not known. Allowed: {', '.join(CLASSIFIERS)}.")
    z_train, z_test = np.asarray(z_train, np.float32), np.asarray(z_test, np.float32)
    if z_train.ndim != 2 or z_test.ndim != 2 or z_train.shape[1] != z_test.shape[1]:
        raise DataError(f"features must be (N, d) arrays with the same d; got {z_train.shape} "
                        f"and {z_test.shape}.")
    y_train = np.asarray(y_train, dtype=np.int64)
    if name == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=k).fit(z_train, y_train).predict(z_test)
    if name == "logistic":
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        # An iteration cap keeps 60000 x 784 pixel fits to a minute; the last few digits of
        # the accuracy are what a longer fit would change.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = LogisticRegression(max_iter=logistic_max_iter).fit(z_train, y_train)
        return clf.predict(z_test)
    from ..models.classifier import create_classifier
    from ..train.classify import predict, train_classifier
    from ..train.seed import seeded

    with seeded(seed):          # the initial weights, so that a seeded run repeats exactly
        model = create_classifier("mlp", (z_train.shape[1],), n_classes, **(mlp_kwargs or {}))
    train_classifier(model, z_train, y_train, epochs=mlp_epochs, batch_size=128, lr=1e-3,
                     seed=seed, device=device)
    return predict(model, z_test)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``cm[i, j]`` of images of class i predicted as j.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
    [[1, 0], [1, 1]]
    """
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape:
        raise DataError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}.")
    if len(y_true) and (min(y_true.min(), y_pred.min()) < 0
                        or max(y_true.max(), y_pred.max()) >= n_classes):
        raise DataError(f"labels must lie in [0, {n_classes}); got values outside.")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes ** 2).reshape(
        n_classes, n_classes)


def confusion_figure(cm: np.ndarray, class_names: Sequence[str], title: str = "") -> Figure:
    """The confusion matrix as a heat map of row-normalised rates with the counts written in
    each cell (rows: true class, columns: predicted class)."""
    cm = np.asarray(cm)
    n = len(class_names)
    if cm.shape != (n, n):
        raise DataError(f"the confusion matrix is {cm.shape} but there are {n} class names.")
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig = Figure(figsize=(0.55 * n + 2.2, 0.55 * n + 1.6), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    names = [str(c)[:10] for c in class_names]
    ax.set_xticks(range(n), names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    return fig
