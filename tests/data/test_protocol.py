"""Dataset protocols of the unsupervised studies: the [data] keys stratify, train_split,
binarize and per_class, and the helpers that say which split trains and which images are
scored."""

from __future__ import annotations

import numpy as np
import pytest

from aelab.config import RunConfig
from aelab.data import (
    binarize,
    clustering_protocol,
    load_dataset,
    per_class_subset,
    scored_images,
    split_sizes,
    train_val_split,
    training_split,
)
from aelab.errors import ConfigError, DataError
from aelab.runs import prepare_data


def _cfg(**data):
    return RunConfig.from_dict({"data": {"name": "digits", **data}, "train": {"seed": 3}})


def test_protocol_keys_are_left_out_of_config_json_at_their_defaults():
    assert set(_cfg().data.to_dict()) == {"name", "limit", "test_limit", "val_fraction",
                                          "data_dir", "options"}
    saved = _cfg(stratify=False, binarize=True, train_split="test", subset="first").data.to_dict()
    assert (saved["stratify"], saved["binarize"], saved["train_split"], saved["subset"]) == (
        False, True, "test", "first")
    # what is written reads back the same
    assert RunConfig.from_dict({"data": saved}).data == _cfg(
        stratify=False, binarize=True, train_split="test", subset="first").data


@pytest.mark.parametrize("data, match", [
    ({"stratify": "no"}, r"data.stratify must be bool; got 'no'"),
    ({"binarize": 1}, r"data.binarize must be bool; got 1"),
    ({"train_split": "val"}, r"data.train_split = 'val' is not allowed.*Allowed: train, test"),
    ({"subset": "last"}, r"data.subset = 'last' is not allowed.*Allowed: random, first"),
    ({"per_class": 0}, r"data.per_class must be >= 1; got 0"),
    ({"per_class": "10"}, r"data.per_class must be int; got '10'"),
    ({"train_split": "test", "folds": 2, "fold": 1}, r"data.pool = 'test'"),
])
def test_protocol_keys_are_checked_naming_the_key(data, match):
    with pytest.raises(ConfigError, match=match):
        _cfg(**data)


def test_unstratified_validation_split_is_the_one_that_ignores_labels():
    splits = prepare_data(_cfg(limit=400, stratify=False))
    y = load_dataset("digits").y_train
    keep = np.sort(np.random.default_rng(3).permutation(len(y))[:400])
    tr, va = train_val_split(y[keep], 0.1, seed=3, stratify=False)
    assert (splits.y_val == y[keep][va]).all() and (splits.y_train == y[keep][tr]).all()
    assert (len(splits.x_train), len(splits.x_val)) == split_sizes(400, 0.1) == (360, 40)
    stratified = prepare_data(_cfg(limit=400))
    assert not np.array_equal(stratified.y_val, splits.y_val)


def test_train_split_test_trains_and_tests_on_the_test_images():
    data = load_dataset("digits")
    splits = prepare_data(_cfg(train_split="test", stratify=False))
    assert len(splits.x_train) + len(splits.x_val) == len(data.x_test)
    assert (splits.x_test == data.x_test).all()
    assert len(splits.data.x_train) == 0                 # the training files are not read


def test_binarize_gives_0_or_255_with_the_intensity_as_probability():
    x = np.full((200, 1, 8, 8), 64, dtype=np.uint8)
    b = binarize(x, seed=0)
    assert set(np.unique(b)) == {0, 255}
    assert abs((b == 255).mean() - 64 / 255) < 0.02
    assert (binarize(x, seed=0) == b).all() and not (binarize(x, seed=1) == b).all()


def test_binarize_key_binarizes_training_and_test_images_with_their_own_seeds():
    splits = prepare_data(_cfg(limit=300, test_limit=100, binarize=True, stratify=False))
    plain = prepare_data(_cfg(limit=300, test_limit=100, stratify=False))
    assert set(np.unique(splits.x_train)) == {0, 255}
    assert (splits.x_test == binarize(plain.x_test, seed=4)).all()          # train.seed + 1
    assert not (splits.x_test == binarize(plain.x_test, seed=3)).all()


def test_training_split_is_test_where_the_training_images_are_missing(mirror):
    assert training_split("kmnist", data_dir=mirror) == "test"      # no training images there
    assert training_split("digits") == "train"


def test_scored_images_with_cluster_all_put_the_test_images_last():
    data = load_dataset("digits")
    x, y, n_test = scored_images(data, test_limit=50, cluster_all=True)
    assert len(x) == 100 and n_test == 50
    assert (x[-50:] == data.x_test[:50]).all() and (y[:50] == data.y_train[:50]).all()
    x, y, n_test = scored_images(data, cluster_all=True, train_split="test")
    assert len(x) == n_test == len(data.x_test)          # nothing else to cluster


def test_clustering_protocol_names_what_was_trained_and_scored():
    assert clustering_protocol(360, 40, 300) == \
        "train 360 + val 40 training images; cluster 300 test images"
    assert "N2D protocol" in clustering_protocol(360, 40, 600, cluster_all=True)
    assert clustering_protocol(9000, 1000, 10000, train_split="test").startswith("test-only")


def test_subset_first_keeps_the_first_limit_training_images_in_order():
    data = load_dataset("digits")
    splits = prepare_data(_cfg(limit=100, subset="first", val_fraction=0.0))
    assert (splits.x_train == data.x_train[:100]).all()
    assert not (prepare_data(_cfg(limit=100, val_fraction=0.0)).x_train == splits.x_train).all()


def test_per_class_is_left_out_of_config_json_at_its_default_and_reads_back():
    assert "per_class" not in _cfg().data.to_dict()
    saved = _cfg(per_class=5).data.to_dict()
    assert saved["per_class"] == 5 and RunConfig.from_dict({"data": saved}).data.per_class == 5


def test_per_class_keeps_that_many_training_images_of_each_class():
    splits = prepare_data(_cfg(per_class=7, val_fraction=0.0))
    assert np.bincount(splits.y_train).tolist() == [7] * 10
    y = load_dataset("digits").y_train
    assert (splits.y_train == y[per_class_subset(y, 7, seed=3)]).all()       # train.seed
    other = prepare_data(RunConfig.from_dict({"data": {"name": "digits", "per_class": 7,
                                                       "val_fraction": 0.0},
                                              "train": {"seed": 4}}))
    assert not np.array_equal(other.x_train, splits.x_train)


def test_per_class_applies_before_limit():
    splits = prepare_data(_cfg(per_class=10, limit=30, val_fraction=0.0))
    pool = per_class_subset(load_dataset("digits").y_train, 10, seed=3)
    keep = np.sort(np.random.default_rng(3).permutation(len(pool))[:30])
    assert len(splits.x_train) == 30
    assert (splits.x_train == load_dataset("digits").x_train[pool][keep]).all()


def test_per_class_beyond_a_class_size_is_a_data_error_naming_the_key():
    with pytest.raises(DataError, match=r"data.per_class = 1000 but class .* has only"):
        prepare_data(_cfg(per_class=1000))
