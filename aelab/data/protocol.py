"""Dataset protocols of the unsupervised studies (priors, clustering, vae): which split a run
can train on here, which images are scored, and how the protocol reads in a record.

The runs themselves are plain run configs (``data.train_split``, ``data.stratify``,
``data.binarize``: `aelab.config.DataConfig`); these helpers give a study what it needs
around them, so that its plan and its score agree on the images:

- `training_split`: ``"train"``, or ``"test"`` where the training images cannot be loaded
  (KMNIST's are not in the project's mirror): the test-only protocol;
- `scored_images`: the images a clustering study scores (the test images; with
  ``cluster_all`` also as many training images first, N2D's protocol);
- `clustering_protocol`: the sentence recorded as ``protocol`` in every record;
- `binarize`: binarized MNIST's stochastic binarization.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import DataError
from .base import ImageData, load_dataset

log = logging.getLogger(__name__)


def binarize(images: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Stochastically binarized images: each pixel is 1 with probability intensity / 255
    (the binarized MNIST of Salakhutdinov and Murray 2008), drawn once with `seed`.
    Returns uint8 images of 0 and 255, the layout every dataset in aelab hands out.

    Examples
    --------
    >>> x = np.array([[[[0, 255]]]], dtype=np.uint8)
    >>> binarize(x, seed=0).ravel().tolist()
    [0, 255]
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise DataError(f"binarize expects uint8 images (0-255); got {images.dtype}.")
    rng = np.random.default_rng(seed)
    return np.where(rng.random(images.shape) < images / 255.0, 255, 0).astype(np.uint8)


def training_split(dataset: str, *, data_dir: str | Path | None = None) -> str:
    """``"train"`` if `dataset`'s training images are here (nothing is downloaded), else
    ``"test"``: the test-only protocol, training on the test images."""
    try:
        load_dataset(dataset, data_dir=data_dir, download=False)
    except DataError as e:
        log.warning("%s: no training images (%s); training on the test images",
                    dataset, str(e).splitlines()[0])
        load_dataset(dataset, data_dir=data_dir, download=False, splits=("test",))
        return "test"
    return "train"


def scored_images(data: ImageData, *, test_limit: int | None = None,
                  cluster_all: bool = False,
                  train_split: str = "train") -> tuple[np.ndarray, np.ndarray, int]:
    """The images a clustering study scores, their labels, and how many of them (the last
    ones) are official test images: the first `test_limit` test images, with `cluster_all`
    (and training images at hand) preceded by the first `test_limit` training images."""
    head = slice(test_limit)
    x, y = data.x_test[head], data.y_test[head]
    n_test = len(x)
    if cluster_all and train_split == "train":
        x = np.concatenate([data.x_train[head], x])
        y = np.concatenate([data.y_train[head], y])
    return x, y, n_test


def clustering_protocol(n_train: int, n_val: int, n_scored: int, *, train_split: str = "train",
                        cluster_all: bool = False) -> str:
    """The ``protocol`` of a clustering record: what the model trained on, what was scored."""
    if train_split == "test":
        return f"test-only: train {n_train} + val {n_val} of the {n_scored} test images; " \
               "cluster all of them"
    if cluster_all:
        return f"train {n_train} + val {n_val} training images; cluster all {n_scored} " \
               "training and test images (N2D protocol)"
    return f"train {n_train} + val {n_val} training images; cluster {n_scored} test images"

