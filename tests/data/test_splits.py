"""train_val_split and stratified_kfold invariants."""

from __future__ import annotations

import numpy as np
import pytest

from aelab.data import stratified_kfold, train_val_split
from aelab.errors import ConfigError

# 3 unbalanced classes: 50, 30 and 7 samples, shuffled.
Y = np.random.default_rng(1).permutation(np.repeat([0, 1, 2], [50, 30, 7]))


def test_train_val_split_is_disjoint_and_covers_all():
    train, val = train_val_split(Y, 0.25, seed=0)

    assert len(np.intersect1d(train, val)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(len(Y)))
    assert len(val) == round(len(Y) * 0.25)


@pytest.mark.parametrize("seed", range(5))
def test_train_val_split_stratified_keeps_class_proportions(seed):
    _, val = train_val_split(Y, 0.2, seed=seed)

    expected = np.bincount(Y) * len(val) / len(Y)
    assert np.all(np.abs(np.bincount(Y[val], minlength=3) - expected) < 1)


def test_train_val_split_same_seed_same_split_other_seed_differs():
    a = train_val_split(Y, 0.2, seed=5)
    b = train_val_split(Y, 0.2, seed=5)
    c = train_val_split(Y, 0.2, seed=6)

    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_train_val_split_unstratified_is_seeded_and_disjoint():
    train, val = train_val_split(Y, 0.5, seed=0, stratify=False)

    assert len(np.intersect1d(train, val)) == 0
    assert len(train) + len(val) == len(Y)
    np.testing.assert_array_equal(val, train_val_split(Y, 0.5, seed=0, stratify=False)[1])


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, "0.2", True])
def test_train_val_split_bad_fraction_names_key(fraction):
    with pytest.raises(ConfigError, match=r"data\.val_fraction"):
        train_val_split(Y, fraction, seed=0)


def test_stratified_kfold_folds_are_disjoint_and_cover_all():
    folds = stratified_kfold(Y, n_folds=5, seed=0)

    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(len(Y)))
    for train, test in folds:
        np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(Y)))


def test_stratified_kfold_class_counts_within_one_of_share():
    folds = stratified_kfold(Y, n_folds=5, seed=0)

    for _, test in folds:
        counts = np.bincount(Y[test], minlength=3)
        assert np.all(np.abs(counts - np.bincount(Y) / 5) < 1), counts


def test_stratified_kfold_fold_sizes_differ_by_at_most_one():
    y = np.repeat([0, 1, 2], 6)  # dealing each class from fold 0 would give sizes 6, 6, 3, 3

    sizes = [len(test) for _, test in stratified_kfold(y, n_folds=4, seed=0)]

    assert max(sizes) - min(sizes) <= 1


def test_stratified_kfold_same_seed_same_folds():
    a = stratified_kfold(Y, n_folds=4, seed=2)
    b = stratified_kfold(Y, n_folds=4, seed=2)
    c = stratified_kfold(Y, n_folds=4, seed=3)

    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize("n_folds", [1, 8, 2.5])
def test_stratified_kfold_bad_n_folds_raises(n_folds):
    with pytest.raises(ConfigError, match="n_folds"):
        stratified_kfold(Y, n_folds=n_folds, seed=0)  # smallest class has 7 samples
