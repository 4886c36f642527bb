"""The dataset container, the dataset registry, and the two entry points that read it:
:func:`load_dataset` and :func:`describe_datasets`.

A dataset is a small registered *recipe* (a :class:`DatasetRecipe` instance): its files with
official URLs and md5s, and a parser for their format. Recipes live one family per module
(``mnist.py``, ``cifar.py``, ``digits.py``, ``folder.py``) and register themselves at import.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from ..registry import Registry
from .download import Fetcher, ProgressFactory

SPLITS = ("train", "test")


@dataclass(frozen=True, eq=False, repr=False)
class ImageData:
    """Images and labels of one dataset, as its official train/test split.

    Images are uint8 (1 byte a pixel); conversion to float in [0, 1] happens per batch.

    Parameters
    ----------
    name : str
        The registered dataset name.
    x_train, x_test : numpy.ndarray
        uint8, shape (N, C, H, W), C-contiguous. A split not loaded has N = 0. Arrays from an
        image folder are copy-on-write memory maps of the cache.
    y_train, y_test : numpy.ndarray
        int64, shape (N,), values in ``range(len(class_names))``.
    class_names : tuple of str
        Name of each label index.

    Raises
    ------
    DataError
        If dtypes, shapes or label values are inconsistent.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        for split in SPLITS:
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 4:
                raise DataError(
                    f"{self.name}: x_{split} must be a uint8 array of shape (N, C, H, W); got "
                    f"{_summarize(x)}."
                )
            if not x.flags.c_contiguous:
                raise DataError(f"{self.name}: x_{split} must be C-contiguous "
                                f"(use np.ascontiguousarray).")
            if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.shape != x.shape[:1]:
                raise DataError(
                    f"{self.name}: y_{split} must be an int64 array of shape ({len(x)},) to "
                    f"match x_{split}; got {_summarize(y)}."
                )
            if y.size and (y.min() < 0 or y.max() >= len(self.class_names)):
                raise DataError(
                    f"{self.name}: y_{split} holds labels in [{y.min()}, {y.max()}], but there "
                    f"are {len(self.class_names)} class names; labels must be in "
                    f"[0, {len(self.class_names) - 1}]."
                )
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DataError(
                f"{self.name}: train images have shape {self.x_train.shape[1:]} but test "
                f"images {self.x_test.shape[1:]}; both splits need the same (C, H, W)."
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.x_train.shape[1:]
        return (c, h, w)

    def __repr__(self) -> str:
        return (
            f"ImageData(name={self.name!r}, image_shape={self.image_shape}, "
            f"n_train={len(self.x_train)}, n_test={len(self.x_test)}, "
            f"n_classes={len(self.class_names)})"
        )


def assemble(
    name: str,
    class_names: tuple[str, ...],
    image_shape: tuple[int, int, int],
    parts: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> ImageData:
    """Build an ImageData from the loaded splits; a split absent from `parts` is empty."""
    arrays: dict[str, np.ndarray] = {}
    for split in SPLITS:
        x, y = parts.get(split, (np.empty((0, *image_shape), np.uint8), np.empty(0, np.int64)))
        # Keep a memory map as is (np.ascontiguousarray would return a plain ndarray view).
        arrays[f"x_{split}"] = x if x.flags.c_contiguous else np.ascontiguousarray(x)
        arrays[f"y_{split}"] = np.asarray(y, dtype=np.int64)
    return ImageData(name=name, class_names=tuple(class_names), **arrays)


class DatasetRecipe:
    """A registered dataset. Subclasses set the attributes and implement :meth:`load`.

    ``load(self, fetcher, splits, *, option=default, ...)``: the keyword-only parameters are
    the dataset's options; :func:`load_dataset` checks user options against them.
    """

    name: str = ""
    summary: str = ""
    image_shape: tuple[int, int, int] | None = None  # None: set by the options
    class_names: tuple[str, ...] = ()

    def load(self, fetcher: Fetcher, splits: tuple[str, ...], **options: Any) -> ImageData:
        raise NotImplementedError

    def describe_files(self, fetcher: Fetcher) -> list[dict[str, str]]:
        """Where each file is or would come from (existence checks only)."""
        return []

    def options(self) -> dict[str, Any]:
        """The dataset's options and their defaults (``splits`` is common to all)."""
        params = inspect.signature(self.load).parameters.values()
        options = {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY}
        return {"splits": SPLITS, **options}

    def describe(self, fetcher: Fetcher) -> dict[str, Any]:
        return {
            "name": self.name,
            "image_shape": self.image_shape if self.image_shape else "configurable",
            "n_classes": len(self.class_names) if self.class_names else "any",
            "files": self.describe_files(fetcher),
            "summary": self.summary,
            "options": self.options(),
        }


DATASETS: Registry[DatasetRecipe] = Registry("dataset")


def register(recipe: DatasetRecipe) -> DatasetRecipe:
    """Add `recipe` to :data:`DATASETS` under ``recipe.name``."""
    return DATASETS.register(recipe.name)(recipe)


def load_dataset(
    name: str,
    *,
    data_dir: str | Path | None = None,
    download: bool = True,
    progress: ProgressFactory | None = None,
    **options: Any,
) -> ImageData:
    """Load a registered dataset as uint8 (N, C, H, W) arrays with its official split.

    Files are looked up in `data_dir`, then the folders in ``AELAB_DATA``, then the user cache
    (``AELAB_CACHE`` or ``~/.cache/aelab``), and only then downloaded into the cache, checked
    against their md5.

    Parameters
    ----------
    name : str
        One of ``DATASETS.names()``: mnist, fashion_mnist, kmnist, cifar10, digits,
        image_folder.
    data_dir : str or Path, optional
        A folder searched first, as ``<data_dir>/<dataset folder>/<file>`` and
        ``<data_dir>/<file>`` (the layout of the shared mirror works as is).
    download : bool, default True
        Whether files found nowhere may be downloaded.
    progress : callable, optional
        A tqdm-like factory (e.g. ``tqdm.tqdm``) for progress bars; the library draws none
        itself.
    **options
        Dataset options. Every dataset accepts ``splits`` (default ``("train", "test")``; a
        split left out comes back empty and its files are not read). Others per dataset:
        kmnist ``form``; digits ``test_fraction``, ``seed``; image_folder ``path``, ``size``,
        ``mode``, ``test_fraction``, ``seed``. ``describe_datasets()`` lists them.

    Returns
    -------
    ImageData

    Raises
    ------
    ConfigError
        For an unknown dataset or option, or a bad option value.
    DataError
        For a missing, corrupt or unreadable file; the message names the file and the fix.

    Examples
    --------
    >>> data = load_dataset("digits")
    >>> data.x_train.shape, data.x_test.shape
    ((1438, 1, 8, 8), (359, 1, 8, 8))
    """
    recipe = DATASETS.get(name, key="data.name")
    splits = _check_splits(options.pop("splits", SPLITS))
    _check_options(recipe, options)
    fetcher = Fetcher(data_dir, download=download, progress=progress)
    return recipe.load(fetcher, splits, **options)


def describe_datasets(data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """Describe every registered dataset and where its files are; downloads and hashes nothing.

    Parameters
    ----------
    data_dir : str or Path, optional
        Searched first, as in :func:`load_dataset`.

    Returns
    -------
    list of dict
        One per dataset, sorted by name, with ``name``, ``image_shape`` ((C, H, W), or
        ``"configurable"``), ``n_classes``, ``files`` (a list of ``{"file", "status", "path"
        or "url"}``, status ``"found"``, ``"download"``, ``"bundled"`` or ``"missing"``),
        ``summary`` and ``options`` (name -> default).

    Examples
    --------
    >>> [d["name"] for d in describe_datasets()]  # doctest: +SKIP
    ['cifar10', 'digits', 'fashion_mnist', 'image_folder', 'kmnist', 'mnist']
    """
    fetcher = Fetcher(data_dir, download=False)
    return [DATASETS.get(name).describe(fetcher) for name in DATASETS.names()]


def _check_splits(splits: Any) -> tuple[str, ...]:
    if isinstance(splits, str):
        splits = (splits,)
    try:
        chosen = tuple(splits)
    except TypeError:
        chosen = ()
    if not chosen or any(s not in SPLITS for s in chosen):
        raise ConfigError(
            f"data.options.splits: got {splits!r}; expected a non-empty subset of {SPLITS}, e.g. "
            f"('test',) to load only the test split."
        )
    return tuple(s for s in SPLITS if s in chosen)


def _check_options(recipe: DatasetRecipe, options: Mapping[str, Any]) -> None:
    allowed = recipe.options()
    for key in options:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"data.options.{key}: unknown option for dataset {recipe.name!r}.{hint} "
                f"Options: {', '.join(sorted(allowed))}."
            )


def _summarize(a: Any) -> str:
    if isinstance(a, np.ndarray):
        return f"{a.dtype} array of shape {a.shape}"
    return type(a).__name__
