"""Seeded index splits: a (stratified) train/validation split, stratified k-fold, and a
subset of so many samples per class.

Both take labels and return index arrays, so they work on any dataset without copying it.
Randomness comes from ``numpy.random.default_rng(seed)``, never the global RNG.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import ConfigError, DataError


def train_val_split(
    y: np.ndarray,
    val_fraction: float,
    seed: int,
    stratify: bool = True,
    *,
    key: str = "data.val_fraction",
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into disjoint train and validation index arrays.

    The validation part has ``round(N * val_fraction)`` samples (at least 1, at most N - 1).
    Stratified, each class contributes its share of them, rounded by the largest-remainder
    method, so every class is within one sample of its proportion.

    Parameters
    ----------
    y : numpy.ndarray
        Labels, shape (N,).
    val_fraction : float
        Fraction of samples for validation, in (0, 1).
    seed : int
        Seed of the generator that picks the samples (non-negative).
    stratify : bool, default True
        Keep the class proportions in both parts.
    key : str, default "data.val_fraction"
        Config key named in the error for a bad `val_fraction`.

    Returns
    -------
    train, val : numpy.ndarray
        Sorted int64 indices; disjoint, together ``range(N)``.

    Raises
    ------
    ConfigError
        If `val_fraction` is not in (0, 1) or `seed` is not a non-negative integer.
    DataError
        If `y` is not 1-D or has fewer than 2 samples.

    Examples
    --------
    >>> train, val = train_val_split(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.5, seed=0)
    >>> len(train), len(val), np.bincount(np.array([0, 0, 0, 0, 1, 1, 1, 1])[val]).tolist()
    (4, 4, [2, 2])
    """
    y = _check_labels(y)
    fraction = _check_fraction(val_fraction, key)
    rng = np.random.default_rng(_check_seed(seed))
    n = len(y)
    if n < 2:
        raise DataError(f"Cannot split {n} sample(s) into two non-empty parts; need at least 2.")
    n_val = split_sizes(n, fraction)[1]
    if stratify:
        _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        per_class = _apportion(counts, n_val)
        val = np.concatenate([
            rng.permutation(np.flatnonzero(inverse == k))[:m] for k, m in enumerate(per_class)
        ])
    else:
        val = rng.permutation(n)[:n_val]
    is_val = np.zeros(n, dtype=bool)
    is_val[val] = True
    return np.flatnonzero(~is_val).astype(np.int64), np.flatnonzero(is_val).astype(np.int64)


def per_class_subset(y: np.ndarray, n_per_class: int, seed: int, *,
                     key: str = "data.per_class") -> np.ndarray:
    """Sorted indices of `n_per_class` samples of each class, drawn without replacement
    (class by class, in label order, from one generator seeded with `seed`).

    Raises
    ------
    DataError
        If a class has fewer than `n_per_class` samples (the message names `key`).

    Examples
    --------
    >>> per_class_subset(np.array([0, 1, 0, 1, 0, 1]), 2, seed=0).tolist()
    [1, 2, 4, 5]
    """
    y = _check_labels(y)
    rng = np.random.default_rng(_check_seed(seed))
    classes, counts = np.unique(y, return_counts=True)
    if len(y) and counts.min() < n_per_class:
        raise DataError(f"{key} = {n_per_class} but class {classes[counts.argmin()]!r} has only "
                        f"{counts.min()} images here; lower {key} to at most {counts.min()} "
                        "or leave it unset.")
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), n_per_class,
                                              replace=False) for c in classes]
                                  or [np.zeros(0, np.int64)]))


def split_sizes(n: int, val_fraction: float) -> tuple[int, int]:
    """(training, validation) sizes that `train_val_split` gives `n` samples: the validation
    part is ``round(n * val_fraction)``, at least 1 and at most n - 1 (none for a fraction 0
    or fewer than 2 samples, as `aelab.runs.prepare_data` does then)."""
    if val_fraction <= 0 or n < 2:
        return n, 0
    n_val = min(max(round(n * val_fraction), 1), n - 1)
    return n - n_val, n_val


def stratified_kfold(
    y: np.ndarray, n_folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded stratified k-fold: `n_folds` disjoint test folds that together cover all samples.

    Each class's samples are shuffled and dealt to the folds in turn (continuing where the
    previous class stopped), so each fold holds every class within one sample of its share,
    and fold sizes differ by at most one.

    Parameters
    ----------
    y : numpy.ndarray
        Labels, shape (N,).
    n_folds : int
        Number of folds, from 2 to the size of the smallest class.
    seed : int
        Seed of the shuffles (non-negative).

    Returns
    -------
    list of (train, test)
        Sorted int64 index arrays; ``train`` is the complement of ``test``.

    Raises
    ------
    ConfigError
        If `n_folds` is not an integer in [2, smallest class count], or `seed` is bad.
    DataError
        If `y` is not 1-D.

    Examples
    --------
    >>> folds = stratified_kfold(np.array([0, 0, 0, 1, 1, 1]), n_folds=3, seed=0)
    >>> [len(test) for _, test in folds]
    [2, 2, 2]
    """
    y = _check_labels(y)
    rng = np.random.default_rng(_check_seed(seed))
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    if not isinstance(n_folds, numbers.Integral) or isinstance(n_folds, bool) or n_folds < 2:
        raise ConfigError(f"n_folds: got {n_folds!r}; expected an integer >= 2.")
    if len(y) == 0 or n_folds > counts.min():
        smallest = (f"class {classes[counts.argmin()]!r} has {counts.min()} samples"
                    if len(y) else "there are no samples")
        raise ConfigError(
            f"n_folds: got {n_folds}, but {smallest}; each fold needs every class at least "
            f"once. Use n_folds <= {counts.min() if len(y) else 0} or more data."
        )
    fold_of = np.empty(len(y), dtype=np.int64)
    offset = 0
    for k, count in enumerate(counts):
        members = rng.permutation(np.flatnonzero(inverse == k))
        fold_of[members] = (offset + np.arange(count)) % n_folds
        offset += count
    folds = np.arange(n_folds)[:, None] == fold_of[None, :]  # (n_folds, N)
    return [(np.flatnonzero(~test).astype(np.int64), np.flatnonzero(test).astype(np.int64))
            for test in folds]


def _apportion(counts: np.ndarray, total: int) -> np.ndarray:
    """Split `total` over classes in proportion to `counts` (largest-remainder method)."""
    quotas = counts * (total / counts.sum())
    shares = np.floor(quotas).astype(np.int64)
    remainder = total - int(shares.sum())
    order = np.argsort(-(quotas - shares), kind="stable")
    shares[order[:remainder]] += 1
    return np.minimum(shares, counts)


def _check_labels(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"Labels must be a 1-D array of shape (N,); got shape {y.shape}.")
    return y


def _check_fraction(value: float, key: str) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 < value < 1:
        return float(value)
    raise ConfigError(f"{key}: got {value!r}; expected a number in (0, 1), e.g. 0.2.")


def _check_seed(seed: int) -> int:
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise ConfigError(f"seed: got {seed!r}; expected a non-negative integer.")
