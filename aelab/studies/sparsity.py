"""Sparsity: an over-complete autoencoder with L1 activity sparsity on its code.

One hidden ReLU layer wider than the image (1024 units for 784 pixels) is the code; the
loss adds ``weight * sum_units |z|`` (mean over the batch, Keras' activity-regularizer
convention) for weights 1e-6, 1e-4, 1e-3 and none. Reported: test reconstruction error, mean
code activation, the fraction of near-zero code values and of units never active on the test
set, and the learned encoder filters (rows of the first weight matrix, as images) of each
model beside those of the plain one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from ..executors import PlannedRun
from ..infer import encode
from ..report.figures import PERCENTILES, code_unit_gallery, image_grid, save_figure
from . import STUDIES
from ._shared import ae_config, ae_reconstruct, one_per_class, rows_figure, trained
from .base import Results, Study, StudyOptions

N_FILTERS = 64
GALLERY_ROWS = 5       # code units shown in each percentile gallery


@dataclass(frozen=True)
class Options(StudyOptions):
    """`weights` L1 activity weights ([0, 1e-6, 1e-4, 1e-3]; 0, the plain model, is always
    added); `code_size` (1024; quick 96); `epochs` (10; quick 2); `limit` training images
    (20000; quick 300); `test_limit` test images (all; quick 200); `loss` (bce);
    `batch_size` (128); `seed` (0); `threshold` below which a code value counts as near zero
    (0.01)."""

    weights: tuple[float, ...] = (0.0, 1e-6, 1e-4, 1e-3)
    code_size: int = 1024
    epochs: int = 10
    limit: int | None = 20000
    test_limit: int | None = None
    loss: str = "bce"
    batch_size: int = 128
    seed: int = 0
    threshold: float = 0.01
    QUICK = {"code_size": 96, "epochs": 2, "limit": 300, "test_limit": 200}

    def check(self, study: str) -> None:
        if not self.weights or any(w < 0 for w in self.weights):
            raise ConfigError(f"study {study!r}: option weights = {list(self.weights)}: give "
                              "non-negative L1 weights, e.g. [0, 1e-4].")

    @property
    def all_weights(self) -> tuple[float, ...]:
        """The weights with the plain model (0) first when it was not given."""
        return self.weights if 0.0 in self.weights else (0.0, *self.weights)


@STUDIES.register("sparsity")
class Sparsity(Study):
    """Train the over-complete autoencoder at each L1 weight; compare codes and filters."""

    Options = Options

    def plan(self) -> list[PlannedRun]:
        o = self.opts
        model = {"name": "dense", "latent_dim": o.code_size, "hidden": [],
                 "code_activation": "relu"}
        return [PlannedRun(_folder(w), ae_config(
            _folder(w), dataset=self.dataset, model=model, epochs=o.epochs, limit=o.limit,
            test_limit=o.test_limit, loss={"name": o.loss, "l1_code": w},
            batch_size=o.batch_size, seed=o.seed)) for w in o.all_weights]

    def score(self, runs: dict[str, Path]) -> Results:
        o = self.opts
        x_test = self.data.x_test[:o.test_limit]
        records, self.filters, self.recs, self.codes = [], [], {}, {}
        for w in o.all_weights:
            label = "none" if w == 0 else f"l1 {w:g}"
            net, m = trained(runs[_folder(w)])
            z = encode(net, x_test, batch_size=512)
            self.codes[label] = z
            records.append({"l1_weight": w, **code_stats(z, o.threshold),
                            "test_mse": m["test_mse"],
                            "test_sse_per_image": m["test_sse_per_image"],
                            "train_seconds": m["train_seconds"], "epochs": m["epochs"],
                            "n_train": m["n_train"], "n_test": m["n_test"]})
            self.recs[label] = ae_reconstruct(net, x_test)
            self.filters.append(save_figure(
                _filter_figure(net, self.data.image_shape),
                self.fig_dir / f"filters_{label.replace(' ', '_')}.png"))
        return Results(records, settings={"weights": list(o.all_weights)})

    def report(self, results: Results):
        o, data, records = self.opts, self.data, results.records
        x_test, y_test = data.x_test[:o.test_limit], data.y_test[:o.test_limit]
        idx = one_per_class(y_test, len(data.class_names))
        rec_png = save_figure(rows_figure({"original": x_test[idx] / 255.0}
                                          | {k: v[idx] for k, v in self.recs.items()}),
                              self.fig_dir / "reconstructions.png")
        text = (f"Dataset {self.dataset}: {records[0]['n_train']} training images, "
                f"{len(x_test)} test images. Encoder: one Linear layer to {o.code_size} ReLU "
                f"units (the code, over-complete for {int(np.prod(data.image_shape))} pixels); "
                f"decoder: one Linear layer and a sigmoid. {o.epochs} epochs, {o.loss} loss plus "
                "weight x sum|z| (mean over the batch), Adam 1e-3, batch "
                f"{o.batch_size}. Near zero: a code value below {o.threshold}; dead: a "
                "unit that is near zero on every test image.")
        return [("Setting", [text]), ("Error and code statistics", [records]),
                (f"Encoder filters (the {N_FILTERS} units with the largest weights; plain first)",
                 self.filters),
                ("Reconstructions, side by side (one test image per class)", [rec_png]),
                ("What the most active code units respond to: percentile galleries",
                 self.galleries(x_test))]

    def galleries(self, x_test: np.ndarray) -> list:
        """Per L1 weight, the units with the largest mean activation on the test images."""
        pct = ", ".join(f"{p:g}" for p in PERCENTILES)
        blocks: list = [f"Each row: the test images at the {pct}th percentiles of one code "
                        "unit's activation, lowest on the left, the activation under each "
                        "image. ReLU codes are often exactly 0 at the low percentiles: those "
                        "cells then show the first image with activation 0."]
        for label, z in self.codes.items():
            order = np.argsort(-np.abs(z).mean(0))[:GALLERY_ROWS]
            blocks.append(f"{label}: the {len(order)} most active units")
            blocks.append(save_figure(code_unit_gallery(z, x_test, order),
                                      self.fig_dir / f"gallery_{label.replace(' ', '_')}.png"))
        return blocks

    def title(self) -> str:
        return f"L1 activity sparsity on {self.dataset}"

    def subtitle(self, command: str) -> str:
        return f"L1 weights {list(self.opts.all_weights)}"


def _folder(weight: float) -> str:
    return "plain" if weight == 0 else f"l1-{weight:g}"


def code_stats(z: np.ndarray, threshold: float) -> dict[str, float]:
    """Mean activation, fraction of near-zero values, fraction of dead units, and the mean
    number of active units per image."""
    active = np.abs(z) >= threshold
    return {"mean_activation": float(np.abs(z).mean()),
            "near_zero_fraction": float(1.0 - active.mean()),
            "dead_unit_fraction": float((~active.any(axis=0)).mean()),
            "active_units_per_image": float(active.sum(axis=1).mean())}


def _filter_figure(model, image_shape):
    """The encoder's first-layer weights of the strongest units, each scaled to [0, 1]."""
    linear = next(m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear))
    w = linear.weight.detach().cpu().numpy()                     # (units, pixels)
    top = np.argsort(-np.linalg.norm(w, axis=1))[:N_FILTERS]
    w = w[top]
    lo, hi = w.min(axis=1, keepdims=True), w.max(axis=1, keepdims=True)
    images = ((w - lo) / np.where(hi > lo, hi - lo, 1.0)).reshape(len(w), *image_shape)
    return image_grid(images, nrow=16)
