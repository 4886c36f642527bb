"""Helpers shared by several studies: the run config of a representation study's autoencoder
(pca-vs-ae, hidden-sizes, sparsity), a finished run's model and metrics, pixels as rows,
reconstructions, and the side-by-side image figure. The result file and the command line
are written by the recipe (`aelab.studies.base`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..config import RunConfig
from ..infer import reconstruct
from ..runs import load_run


def ae_config(name: str, *, dataset: str, model: dict, epochs: int, limit: int | None,
              test_limit: int | None, loss: dict | None = None, batch_size: int = 128,
              lr: float = 1e-3, seed: int = 0) -> RunConfig:
    """The run config of one autoencoder of a representation study. No validation split:
    these studies compare test errors after a fixed number of epochs."""
    return RunConfig.from_dict({
        "name": name,
        "data": {"name": dataset, "limit": limit, "test_limit": test_limit,
                 "val_fraction": 0.0},
        "model": model, "loss": loss or {"name": "mse"},
        "train": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
                  "device": "cpu"},
    })


def trained(run: Path) -> tuple[Any, dict]:
    """The model (eval mode) and the metrics of a finished run folder."""
    _, net = load_run(run)
    return net, json.loads((run / "metrics.json").read_text())


def flat_pixels(x_uint8: np.ndarray) -> np.ndarray:
    """Images (N, ...) of uint8 as rows of float32 pixels in [0, 1]: shape (N, pixels)."""
    return x_uint8.reshape(len(x_uint8), -1).astype(np.float32) / 255.0


def per_image_sse(x_uint8: np.ndarray, x_rec: np.ndarray) -> np.ndarray:
    """Sum of squared errors of each image, pixels in [0, 1]: shape (N,)."""
    x = x_uint8.reshape(len(x_uint8), -1).astype(np.float64) / 255.0
    return ((x - x_rec.reshape(len(x), -1).astype(np.float64)) ** 2).sum(axis=1)


def ae_reconstruct(model, x_uint8: np.ndarray) -> np.ndarray:
    return reconstruct(model, x_uint8).reshape(x_uint8.shape).astype(np.float32)


def rows_figure(rows: dict[str, np.ndarray], *, title: str | None = None):
    """Labelled rows of images (each (N, C, H, W) in [0, 1]), e.g. originals above the
    reconstructions of several methods, so the same images line up column by column."""
    from matplotlib.figure import Figure

    labels = list(rows)
    n = max(len(v) for v in rows.values())
    fig = Figure(figsize=(0.9 * n + 1.6, 0.95 * len(labels) + (0.4 if title else 0.1)),
                 layout="constrained")
    axes = fig.subplots(len(labels), 1, squeeze=False)[:, 0]
    for ax, label in zip(axes, labels, strict=True):
        imgs = np.clip(np.asarray(rows[label], dtype=np.float32), 0, 1)
        strip = np.concatenate([np.pad(im.transpose(1, 2, 0), ((1, 1), (1, 1), (0, 0)),
                                       constant_values=1.0) for im in imgs], axis=1)
        ax.imshow(strip[..., 0] if strip.shape[-1] == 1 else strip, cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def one_per_class(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Index of the first test image of each class (for side-by-side figures)."""
    return np.array([np.flatnonzero(y == c)[0] for c in range(n_classes) if (y == c).any()])
