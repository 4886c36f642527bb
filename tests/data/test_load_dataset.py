"""The registry front door: load_dataset, describe_datasets and ImageData checks."""

from __future__ import annotations

import numpy as np
import pytest

from aelab.data import DATASETS, ImageData, describe_datasets, load_dataset
from aelab.errors import ConfigError, DataError


def test_datasets_registry_has_the_six_datasets():
    assert DATASETS.names() == [
        "cifar10", "digits", "fashion_mnist", "image_folder", "kmnist", "mnist"
    ]


def test_load_dataset_unknown_name_suggests_close_match():
    with pytest.raises(ConfigError, match="Did you mean 'mnist'"):
        load_dataset("mnits")


def test_load_dataset_unknown_option_suggests_close_match():
    with pytest.raises(ConfigError, match=r"options\.tets_fraction.*mean 'test_fraction'"):
        load_dataset("digits", tets_fraction=0.3)


@pytest.mark.parametrize("splits", [(), ("val",), 3])
def test_load_dataset_bad_splits_raises(splits):
    with pytest.raises(ConfigError, match=r"data\.options\.splits"):
        load_dataset("digits", splits=splits)


def test_load_dataset_test_split_only_leaves_train_empty():
    data = load_dataset("digits", splits=("test",))

    assert data.x_train.shape == (0, 1, 8, 8) and data.y_train.shape == (0,)
    assert len(data.x_test) == 359


def test_image_data_rejects_float_images():
    x = np.zeros((2, 1, 4, 4), np.float32)
    y = np.zeros(2, np.int64)

    with pytest.raises(DataError, match="x_train must be a uint8 array"):
        ImageData("toy", x, y, x.astype(np.uint8), y, ("a",))


def test_image_data_rejects_label_out_of_range():
    x = np.zeros((2, 1, 4, 4), np.uint8)

    with pytest.raises(DataError, match=r"labels in \[0, 2\]"):
        ImageData("toy", x, np.array([0, 2]), x, np.zeros(2, np.int64), ("a", "b"))


def test_describe_datasets_lists_every_dataset_with_its_files(tmp_path):
    described = {d["name"]: d for d in describe_datasets(tmp_path)}

    assert sorted(described) == DATASETS.names()
    mnist = described["mnist"]
    assert mnist["image_shape"] == (1, 28, 28) and mnist["n_classes"] == 10
    assert [f["status"] for f in mnist["files"]] == ["download"] * 4
    assert mnist["files"][0]["url"].startswith("https://ossci-datasets.s3.amazonaws.com/mnist/")
    assert described["digits"]["files"][0]["status"] == "bundled"
    assert described["image_folder"]["image_shape"] == "configurable"


def test_describe_datasets_does_not_hash_files(tmp_path):
    corrupt = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"corrupt")  # loading would fail its md5

    mnist = {d["name"]: d for d in describe_datasets(tmp_path)}["mnist"]

    assert {"file": corrupt.name, "status": "found", "path": str(corrupt)} in mnist["files"]
