"""The offline default dataset: scikit-learn's bundled digits."""

from __future__ import annotations

import numpy as np
import pytest

from aelab.data import load_dataset
from aelab.errors import ConfigError


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_digits_shapes_and_dtype(digits):
    assert len(digits.x_train) + len(digits.x_test) == 1797
    assert digits.image_shape == (1, 8, 8)
    assert digits.x_train.dtype == np.uint8 and digits.y_train.dtype == np.int64
    assert len(digits.x_test) == round(1797 * 0.2)


def test_digits_pixels_are_scaled_to_full_byte_range(digits):
    values = np.unique(np.concatenate([digits.x_train, digits.x_test]))

    assert values.min() == 0 and values.max() == 255
    assert len(values) == 17  # the 17 levels 0..16, each scaled


def test_digits_split_is_the_same_every_time(digits):
    again = load_dataset("digits")

    np.testing.assert_array_equal(digits.x_test, again.x_test)
    np.testing.assert_array_equal(digits.y_train, again.y_train)


def test_digits_seed_changes_the_split(digits):
    other = load_dataset("digits", seed=1)

    assert not np.array_equal(digits.x_test, other.x_test)


def test_digits_test_split_is_stratified(digits):
    counts = np.bincount(digits.y_test, minlength=10)
    shares = np.bincount(np.concatenate([digits.y_train, digits.y_test])) * 0.2

    assert np.all(np.abs(counts - shares) < 1)


def test_digits_bad_test_fraction_names_key():
    with pytest.raises(ConfigError, match=r"data\.options\.test_fraction"):
        load_dataset("digits", test_fraction=1.0)
