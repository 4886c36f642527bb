"""Figures for reports. Each function takes data and returns a ``matplotlib.figure.Figure``.

Figures are built with ``matplotlib.figure.Figure`` directly, never through ``pyplot``: nothing
is registered in pyplot's global figure list, nothing is shown, and an unused figure is freed
by the garbage collector like any other object. :func:`save_figure` writes a PNG.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from aelab.errors import DataError

__all__ = ["PERCENTILES", "SPLITS", "code_unit_gallery", "curves_by_label", "image_grid",
           "loss_curves", "percentile_gallery", "percentile_indices", "reconstruction_grid",
           "save_figure"]

logger = logging.getLogger(__name__)

SPLITS = ("train", "val")
"""Column prefixes of loss terms in a history: ``train_<term>`` and ``val_<term>``."""

_SPLIT_STYLE = {"train": {"label": "train", "ls": "-"}, "val": {"label": "validation", "ls": "--"}}
PERCENTILES = (2, 10, 25, 50, 75, 90, 98)
"""Percentiles of a score shown by :func:`percentile_gallery`."""

_TITLE_SIZE = 11
_LABEL_SIZE = 10


def loss_curves(history: Sequence[Mapping[str, float]] | Mapping[str, Sequence[float]]) -> Figure:
    """Plot each loss term against the epoch, training and validation together.

    Parameters
    ----------
    history : list of dict, or dict of lists
        One row per epoch (as returned by :func:`aelab.report.html.read_history`), or one
        list per column. Loss columns are named ``train_<term>`` and ``val_<term>``
        (``train_total``, ``val_recon``, ``train_kl`` ...); an ``epoch`` column gives the
        x axis (otherwise 1, 2, ...). Other columns (``seconds``, ``lr``) are ignored.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per loss term, in the order the terms first appear. A panel uses a log y
        axis when all its finite values are positive.

    Raises
    ------
    DataError
        If the history has no ``train_*`` or ``val_*`` column, or its columns differ in length.

    Examples
    --------
    >>> fig = loss_curves({"epoch": [1, 2], "train_total": [1.0, 0.5], "val_total": [1.1, 0.7]})
    >>> len(fig.axes)
    1
    """
    columns = _columns(history)
    terms = _loss_terms(columns)
    if not terms:
        raise DataError(
            f"history has no loss columns named like 'train_<term>' or 'val_<term>'; "
            f"got columns {sorted(columns)}."
        )
    n_epochs = len(next(iter(columns.values())))
    epochs = np.asarray(columns.get("epoch", range(1, n_epochs + 1)), dtype=float)

    ncols = min(3, len(terms))
    nrows = math.ceil(len(terms) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows), layout="constrained")
    for i, term in enumerate(terms):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        curves = {s: np.asarray(columns[f"{s}_{term}"], float)
                  for s in SPLITS if f"{s}_{term}" in columns}
        for split, values in curves.items():
            ax.plot(epochs, values, marker="o", markersize=3, **_SPLIT_STYLE[split])
        finite = np.concatenate([v[np.isfinite(v)] for v in curves.values()])
        if finite.size and (finite > 0).all():
            ax.set_yscale("log")
        ax.set_title(term, fontsize=_TITLE_SIZE)
        ax.set_xlabel("epoch", fontsize=_LABEL_SIZE)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=_LABEL_SIZE - 1)
    return fig


def image_grid(images: Any, *, nrow: int, titles: Sequence[str] | None = None) -> Figure:
    """Show images in a grid, one small panel per image.

    Parameters
    ----------
    images : array-like of shape (N, C, H, W)
        ``uint8`` (0-255) or floats in ``[0, 1]``; ``C`` is 1 (grey) or 3 (RGB).
    nrow : int
        Number of images per row, as in ``torchvision.utils.make_grid``.
    titles : sequence of str, optional
        One title per image (class names, labels, noise levels ...).

    Returns
    -------
    matplotlib.figure.Figure
        ``N`` axes without ticks.

    Raises
    ------
    DataError
        If the images are not ``(N, C, H, W)`` with C in {1, 3}, floats fall outside
        ``[0, 1]``, or the number of titles differs from ``N``.

    Examples
    --------
    >>> import numpy as np
    >>> fig = image_grid(np.zeros((6, 1, 8, 8), dtype=np.uint8), nrow=3)
    >>> len(fig.axes)
    6
    """
    pictures = _to_display(images)
    if nrow < 1:
        raise DataError(f"nrow must be a positive integer; got {nrow!r}.")
    if titles is not None and len(titles) != len(pictures):
        raise DataError(f"got {len(titles)} titles for {len(pictures)} images; give one per image.")
    ncols = min(nrow, len(pictures))
    nrows = math.ceil(len(pictures) / ncols)
    fig = Figure(figsize=(1.4 * ncols, 1.4 * nrows + (0.3 * nrows if titles else 0)),
                 layout="constrained")
    for i, picture in enumerate(pictures):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        _show(ax, picture)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=_LABEL_SIZE - 1)
    return fig


def reconstruction_grid(originals: Any, reconstructions: Any, n: int = 25) -> Figure:
    """Show the first ``n`` originals beside their reconstructions.

    Parameters
    ----------
    originals, reconstructions : array-like of shape (N, C, H, W)
        ``uint8`` or floats in ``[0, 1]``, grey or RGB, in matching order.
    n : int, default=25
        Images to show; each side is a square-ish tile of ``ceil(sqrt(n))`` columns
        (5x5 for 25). Fewer are shown when ``N < n``.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels without ticks, titled ``"original"`` and ``"reconstruction"``.

    Raises
    ------
    DataError
        If the two arrays have different shapes or are not valid images.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((25, 1, 8, 8))
    >>> [ax.get_title() for ax in reconstruction_grid(x, x).axes]
    ['original', 'reconstruction']
    """
    left, right = _to_display(originals), _to_display(reconstructions)
    if left.shape != right.shape:
        raise DataError(
            f"originals and reconstructions must have the same shape; "
            f"got {left.shape} and {right.shape}."
        )
    if n < 1:
        raise DataError(f"n must be a positive integer; got {n!r}.")
    ncols = math.ceil(math.sqrt(min(n, len(left))))
    fig = Figure(figsize=(9, 4.8), layout="constrained")
    for i, (title, pictures) in enumerate((("original", left), ("reconstruction", right))):
        ax = fig.add_subplot(1, 2, i + 1)
        _show(ax, _tile(pictures[:n], ncols))
        ax.set_title(title, fontsize=_TITLE_SIZE + 1)
    return fig


def curves_by_label(histories: Mapping[str, Sequence[Sequence[Mapping[str, float]]]],
                    column: str = "train_total", *, ylabel: str | None = None) -> Figure:
    """One column of several training histories on one plot, one colour per label.

    Parameters
    ----------
    histories : dict of str to list of histories
        label -> the histories (rows per epoch, as from
        :func:`aelab.report.html.read_history`) drawn in that label's colour, e.g. one per
        seed of a variant; only the first of each is named in the legend.
    column : str, default "train_total"
        The history column to plot against ``epoch``.
    ylabel : str, optional
        The y axis label (default: `column`). The y axis is logarithmic when every value is
        positive.

    Raises
    ------
    DataError
        If a history has no `column`.

    Examples
    --------
    >>> h = [{"epoch": 1.0, "train_total": 0.5}, {"epoch": 2.0, "train_total": 0.25}]
    >>> len(curves_by_label({"a": [h], "b": [h, h]}).axes[0].lines)
    3
    """
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    values = []
    for i, (label, runs) in enumerate(histories.items()):
        for j, history in enumerate(runs):
            if any(column not in row for row in history):
                raise DataError(f"history of {label!r} has no column {column!r}; it has "
                                f"{sorted(history[0]) if history else 'no rows'}.")
            y = [row[column] for row in history]
            values += y
            ax.plot([row.get("epoch", k + 1) for k, row in enumerate(history)], y,
                    color=f"C{i % 10}", marker="o", markersize=3, alpha=0.85,
                    label=label if j == 0 else None)
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    if finite.size and (finite > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel("epoch", fontsize=_LABEL_SIZE)
    ax.set_ylabel(ylabel or column, fontsize=_LABEL_SIZE)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=_LABEL_SIZE - 2)
    return fig


def percentile_indices(scores: Any, percentiles: Sequence[float] = PERCENTILES) -> np.ndarray:
    """For each column of `scores` (n, k), the row whose score is nearest each percentile
    of that column: an int array (len(percentiles), k). Ties go to the lowest row."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or len(scores) == 0:
        raise DataError(f"scores must be a 2-D array (n images, k columns) with n >= 1; got "
                        f"shape {scores.shape}.")
    if not np.isfinite(scores).all():
        raise DataError("scores hold NaN or infinite values; percentiles need finite scores.")
    p = np.asarray(percentiles, dtype=np.float64)
    if p.ndim != 1 or len(p) == 0 or (p < 0).any() or (p > 100).any():
        raise DataError(f"percentiles must be numbers in [0, 100]; got {list(percentiles)}.")
    targets = np.percentile(scores, p, axis=0)                       # (P, k)
    return np.abs(scores[None, :, :] - targets[:, None, :]).argmin(axis=1)


def percentile_gallery(scores: Any, images: Any, *, k: int | None = None,
                       percentiles: Sequence[float] = PERCENTILES,
                       labels: Sequence[str] | None = None) -> Figure:
    """What a score "does": for each column, the images at its percentiles.

    Row j shows, for score column j (a PCA component, a code unit ...), the image whose
    score is nearest each percentile of that column over all images (see
    :func:`percentile_indices`), lowest percentile on the left, with the score under it.

    Parameters
    ----------
    scores : array-like of shape (n, K)
        One score per image and column.
    images : array-like of shape (n, C, H, W)
        ``uint8`` or floats in ``[0, 1]``, in the order of `scores`' rows.
    k : int, optional
        Show only the first `k` columns (default: all).
    percentiles : sequence of float, default (2, 10, 25, 50, 75, 90, 98)
    labels : sequence of str, optional
        One label per shown column (default: "1", "2", ...).

    Raises
    ------
    DataError
        If `scores` and `images` differ in length, `k` is not in [1, K], the labels do not
        match the columns shown, or a percentile is outside [0, 100].

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fig = percentile_gallery(rng.normal(size=(50, 3)), rng.random((50, 1, 8, 8)), k=2)
    >>> len(fig.axes)
    14
    """
    scores = np.asarray(scores, dtype=np.float64)
    pictures = _to_display(images)
    if scores.ndim != 2 or len(scores) != len(pictures):
        raise DataError(f"scores must be (n, k) with one row per image; got shape "
                        f"{scores.shape} for {len(pictures)} images.")
    k = scores.shape[1] if k is None else k
    if not 1 <= k <= scores.shape[1]:
        raise DataError(f"k must be in [1, {scores.shape[1]}] (the score columns); got {k!r}.")
    labels = [str(j + 1) for j in range(k)] if labels is None else [str(x) for x in labels]
    if len(labels) != k:
        raise DataError(f"got {len(labels)} labels for {k} columns; give one per column.")
    scores = scores[:, :k]
    chosen = percentile_indices(scores, percentiles)                 # (P, k)
    fig = Figure(figsize=(1.05 * len(percentiles) + 1.0, 1.3 * k + 0.4), layout="constrained")
    axes = fig.subplots(k, len(percentiles), squeeze=False)
    for j in range(k):
        for i, p in enumerate(percentiles):
            ax, row = axes[j, i], chosen[i, j]
            _show(ax, pictures[row])
            ax.set_xlabel(f"{scores[row, j]:.3g}", fontsize=_LABEL_SIZE - 2, labelpad=1)
            if j == 0:
                ax.set_title(f"p{p:g}", fontsize=_LABEL_SIZE - 1)
            if i == 0:
                ax.set_ylabel(labels[j], rotation=0, ha="right", va="center",
                              fontsize=_LABEL_SIZE - 1)
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG, creating parent folders.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to save; it is not closed or modified.
    path : str or pathlib.Path
        Destination file, normally ending in ``.png``.
    dpi : int, default=100
        Resolution.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    logger.debug("saved figure %s", path)
    return path


def _columns(history: Any) -> dict[str, list[float]]:
    if isinstance(history, Mapping):
        columns = {k: list(v) for k, v in history.items()}
    else:
        keys = list(dict.fromkeys(k for row in history for k in row))
        columns = {k: [row.get(k, math.nan) for row in history] for k in keys}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise DataError(f"history columns differ in length: {sorted(lengths)}.")
    return columns


def _loss_terms(columns: Mapping[str, Any]) -> list[str]:
    terms = []
    for name in columns:
        split, _, term = name.partition("_")
        if split in SPLITS and term and term not in terms:
            terms.append(term)
    return terms


def _to_display(images: Any) -> np.ndarray:
    """(N, C, H, W) uint8 or [0, 1] floats -> (N, H, W) or (N, H, W, 3) floats in [0, 1]."""
    if hasattr(images, "detach"):  # torch.Tensor
        images = images.detach().cpu().numpy()
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise DataError(
            f"expected images of shape (N, C, H, W) with C 1 or 3 and N >= 1; got {images.shape}."
        )
    if images.dtype == np.uint8:
        images = images / 255.0
    elif images.min() < -1e-6 or images.max() > 1 + 1e-6:
        raise DataError(
            f"float images must lie in [0, 1]; got values in "
            f"[{images.min():.4g}, {images.max():.4g}]. Apply sigmoid to logits."
        )
    images = np.clip(images.astype(np.float32), 0.0, 1.0)
    return images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)


def _tile(pictures: np.ndarray, ncols: int, pad: int = 1) -> np.ndarray:
    """Pictures (N, H, W[, 3]) -> one mosaic with ``ncols`` per row and white gaps."""
    n, h, w = pictures.shape[:3]
    nrows = math.ceil(n / ncols)
    mosaic = np.ones((nrows * (h + pad) - pad, ncols * (w + pad) - pad, *pictures.shape[3:]),
                     dtype=pictures.dtype)
    for i, picture in enumerate(pictures):
        r, c = divmod(i, ncols)
        mosaic[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = picture
    return mosaic


def _show(ax: Any, picture: np.ndarray) -> None:
    if picture.ndim == 2:
        ax.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(picture, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def code_unit_gallery(codes: Any, images: Any, units: Sequence[int]) -> Figure:
    """`percentile_gallery` of the chosen units (columns) of `codes`, labelled by unit."""
    units = [int(u) for u in units]
    return percentile_gallery(np.asarray(codes)[:, units], images,
                              labels=[f"unit {u}" for u in units])
