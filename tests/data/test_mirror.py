"""Real data from the shared read-only mirror (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aelab.data import describe_datasets, load_dataset
from aelab.errors import DataError

pytestmark = pytest.mark.mirror

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_mirror_shapes_and_label_counts(mirror: Path):
    data = load_dataset("mnist", data_dir=mirror, download=False)

    assert data.x_train.shape == (60000, 1, 28, 28) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(data.y_test).tolist() == MNIST_TEST_COUNTS
    assert np.bincount(data.y_train).sum() == 60000 and data.y_train.max() == 9


def test_mnist_mirror_found_through_aelab_data(mirror: Path, monkeypatch):
    monkeypatch.setenv("AELAB_DATA", str(mirror))

    data = load_dataset("mnist", download=False, splits=("test",))

    assert np.bincount(data.y_test).tolist() == MNIST_TEST_COUNTS


def test_kmnist_mirror_test_split_npz_equals_idx(mirror: Path):
    npz = load_dataset("kmnist", data_dir=mirror, download=False, splits=("test",), form="npz")
    idx = load_dataset("kmnist", data_dir=mirror, download=False, splits=("test",), form="idx")

    assert npz.x_test.shape == (10000, 1, 28, 28) and npz.x_train.shape == (0, 1, 28, 28)
    np.testing.assert_array_equal(npz.x_test, idx.x_test)
    np.testing.assert_array_equal(npz.y_test, idx.y_test)
    assert np.bincount(npz.y_test).tolist() == [1000] * 10


def test_kmnist_mirror_train_images_must_be_downloaded(mirror: Path):
    with pytest.raises(DataError, match=r"kmnist/train-images-idx3-ubyte\.gz was not found"):
        load_dataset("kmnist", data_dir=mirror, download=False)


def test_describe_datasets_mirror_reports_kmnist_train_images_as_download(mirror: Path):
    kmnist = {d["name"]: d for d in describe_datasets(mirror)}["kmnist"]

    status = {f["file"]: f["status"] for f in kmnist["files"]}
    assert status["train-images-idx3-ubyte.gz"] == "download"
    assert status["kmnist-test-imgs.npz"] == "found"
    assert len(status) == 4


def test_cifar10_mirror_without_batches_points_to_image_folder(mirror: Path):
    with pytest.raises(DataError, match=r"cifar10/images/"):
        load_dataset("cifar10", data_dir=mirror, download=False)
