"""PCA vs autoencoders: the same code sizes, the same test images.

For each code size d (2, 10, 30, 64): PCA with d components (fitted on the training images,
pixels in [0, 1]), a dense autoencoder and a convolutional autoencoder with a d-dimensional
code. Reported: test MSE per pixel and squared error per image (the measure of Hinton and
Salakhutdinov, 2006: PCA-30 13.87 on MNIST, their deep 784-1000-500-250-30 autoencoder 3.00),
training time, per-class error, PCA's explained variance (component-wise and cumulative),
reconstructions side by side, and the classes PCA fails on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from ..errors import ConfigError
from ..executors import PlannedRun
from ..generate.samplers import encode
from ..report.figures import PERCENTILES, code_unit_gallery, percentile_gallery, save_figure
from . import STUDIES
from ._shared import (
    ae_config,
    ae_reconstruct,
    flat_pixels,
    one_per_class,
    per_image_sse,
    rows_figure,
    trained,
)
from .base import Results, Study, StudyOptions

METHODS = ("pca", "dense", "conv")
GALLERY_ROWS = 5       # components / code units shown in each percentile gallery


@dataclass(frozen=True)
class Options(StudyOptions):
    """`dims` code sizes ([2, 10, 30, 64]; quick [2, 10]); `methods` (pca, dense, conv);
    `epochs` per autoencoder (10; quick 2); `limit` training images (all; quick 300; PCA uses
    the same ones); `test_limit` test images (all; quick 200); `dense_hidden` ([1000, 500,
    250], the 2006 stack; quick [64, 32]); `conv_channels` ([32, 64]; quick [8, 16]); `loss`
    of the autoencoders (bce); `batch_size` (128); `seed` (0)."""

    dims: tuple[int, ...] = (2, 10, 30, 64)
    methods: tuple[Literal["pca", "dense", "conv"], ...] = METHODS
    epochs: int = 10
    limit: int | None = None
    test_limit: int | None = None
    dense_hidden: tuple[int, ...] = (1000, 500, 250)
    conv_channels: tuple[int, ...] = (32, 64)
    loss: str = "bce"
    batch_size: int = 128
    seed: int = 0
    QUICK = {"dims": (2, 10), "epochs": 2, "limit": 300, "test_limit": 200,
             "dense_hidden": (64, 32), "conv_channels": (8, 16)}


@STUDIES.register("pca-vs-ae")
class PcaVsAe(Study):
    """Compare PCA, a dense and a conv autoencoder at each code size."""

    Options = Options

    def plan(self) -> list[PlannedRun]:
        o = self.opts
        n_pixels = int(np.prod(self.data.image_shape))
        bad = [d for d in o.dims if not 1 <= d <= n_pixels]
        if bad:
            raise ConfigError(f"study {self.name!r}: option dims: each code size must be an "
                              f"integer in [1, {n_pixels}] for {self.dataset!r}; got {bad[0]!r}.")
        return [PlannedRun(f"{method}-{dim}", ae_config(
            f"{method}-{dim}", dataset=self.dataset, model=_model(method, dim, o),
            epochs=o.epochs, limit=o.limit, test_limit=o.test_limit, loss={"name": o.loss},
            batch_size=o.batch_size, seed=o.seed))
            for dim in o.dims for method in o.methods if method != "pca"]

    def score(self, runs: dict[str, Path]) -> Results:
        o, data = self.opts, self.data
        n_pixels = int(np.prod(data.image_shape))
        x_train = _training_subset(data, o.limit, o.seed)
        x_test, y_test = data.x_test[:o.test_limit], data.y_test[:o.test_limit]
        records, self.per_class, self.recs, self.codes = [], [], {}, {}
        for dim in o.dims:
            for method in o.methods:
                if method == "pca":
                    t0 = time.perf_counter()
                    x_rec, extra = _pca(x_train, x_test, dim), {"epochs": None}
                    extra["train_seconds"] = time.perf_counter() - t0
                else:
                    net, m = trained(runs[f"{method}-{dim}"])
                    x_rec = ae_reconstruct(net, x_test)
                    self.codes[method, dim] = encode(net, x_test)
                    extra = {"train_seconds": m["train_seconds"], "epochs": m["epochs"],
                             "parameters": m["parameters"]}
                sse = per_image_sse(x_test, x_rec)
                records.append({"method": method, "dim": dim,
                                "mse": float(sse.mean() / n_pixels),
                                "sse_per_image": float(sse.mean()),
                                "train_seconds": round(extra.pop("train_seconds"), 2),
                                **extra, "n_train": len(x_train), "n_test": len(x_test)})
                self.per_class += [{"method": method, "dim": dim, "class": data.class_names[c],
                                    "sse_per_image": float(sse[y_test == c].mean())}
                                   for c in range(len(data.class_names)) if (y_test == c).any()]
                self.recs[method, dim] = x_rec
        pca = PCA(min(len(x_train), n_pixels), svd_solver="full").fit(flat_pixels(x_train))
        self.variance = pca.explained_variance_ratio_
        self.pca_scores = pca.transform(flat_pixels(x_test))[:, :GALLERY_ROWS]
        return Results(records, settings={"n_train": len(x_train), "n_test": len(x_test)})

    def report(self, results: Results):
        o, data = self.opts, self.data
        x_test, y_test = data.x_test[:o.test_limit], data.y_test[:o.test_limit]
        figures = _figures(self.fig_dir, results.records, self.variance, o, self.recs, x_test,
                           y_test, len(data.class_names))
        sections = _sections(self.dataset, o, results.records, self.per_class, self.variance,
                             figures, results.settings["n_train"], results.settings["n_test"])
        return [*sections, ("What a component or a code unit does: percentile galleries",
                            self.galleries(x_test))]

    def galleries(self, x_test: np.ndarray) -> list:
        """PCA's first components, then the code units of each autoencoder (those with the
        largest spread over the test images first: code units have no natural order)."""
        pct = ", ".join(f"{p:g}" for p in PERCENTILES)
        blocks: list = [
            f"Each row: the test images at the {pct}th percentiles of one score (a principal "
            "component, or one unit of an autoencoder's code), lowest on the left; the score "
            "is under each image.",
            save_figure(percentile_gallery(self.pca_scores, x_test, labels=[
                f"PC{j + 1}" for j in range(self.pca_scores.shape[1])]),
                self.fig_dir / "gallery_pca.png")]
        for (method, dim), z in self.codes.items():
            order = np.argsort(-z.std(0))[:GALLERY_ROWS]
            blocks.append(f"{method} autoencoder, d={dim}: the {len(order)} code units with "
                          "the largest spread")
            blocks.append(save_figure(code_unit_gallery(z, x_test, order),
                                      self.fig_dir / f"gallery_{method}_d{dim}.png"))
        return blocks

    def title(self) -> str:
        return f"PCA vs autoencoders on {self.dataset}"

    def subtitle(self, command: str) -> str:
        return f"code sizes {list(self.opts.dims)}; methods {list(self.opts.methods)}"


def _model(method: str, dim: int, o: Options) -> dict:
    if method == "dense":
        return {"name": "dense", "latent_dim": dim, "hidden": list(o.dense_hidden)}
    return {"name": "conv", "latent_dim": dim, "channels": list(o.conv_channels),
            "upsample": "transposed", "batch_norm": True}


def _training_subset(data, limit: int | None, seed: int) -> np.ndarray:
    """The training images the autoencoders see (train_run's `limit` draws the same ones)."""
    x = data.x_train
    if limit is not None and limit < len(x):
        keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:limit])
        x = x[keep]
    return x


def _pca(x_train: np.ndarray, x_test: np.ndarray, dim: int) -> np.ndarray:
    pca = PCA(dim, svd_solver="covariance_eigh").fit(flat_pixels(x_train))
    rec = pca.inverse_transform(pca.transform(flat_pixels(x_test)))
    return rec.reshape(x_test.shape)    # not clipped: PCA's own reconstruction, as published


def _figures(fig_dir, records, variance, opts, recs, x_test, y_test, n_classes) -> list[Path]:
    out = [save_figure(_error_plot(records), fig_dir / "squared_error_per_image.png"),
           save_figure(_variance_plot(variance, opts.dims), fig_dir / "explained_variance.png")]
    idx = one_per_class(y_test, n_classes)
    for dim in opts.dims:
        rows = {"original": x_test[idx] / 255.0}
        rows |= {f"{m} ({dim})": recs[m, dim][idx] for m in opts.methods}
        out.append(save_figure(rows_figure(rows), fig_dir / f"reconstructions_d{dim}.png"))
    return out


def _error_plot(records) -> Figure:
    fig = Figure(figsize=(5.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for method in dict.fromkeys(r["method"] for r in records):
        rs = [r for r in records if r["method"] == method]
        ax.plot([r["dim"] for r in rs], [r["sse_per_image"] for r in rs], marker="o", label=method)
    ax.set_xscale("log")
    ax.set_xlabel("code size d")
    ax.set_ylabel("squared error per test image")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig


def _variance_plot(ratio: np.ndarray, dims: list[int]) -> Figure:
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    k = np.arange(1, len(ratio) + 1)
    shown = min(len(ratio), max(100, max(dims)))
    ax1.bar(k[:shown], ratio[:shown], width=1.0)
    ax1.set_yscale("log")
    ax1.set_title("explained variance ratio per component")
    ax1.set_xlabel("component")
    cumulative = np.cumsum(ratio)
    ax2.plot(k, cumulative)
    for d in dims:
        if d <= len(ratio):
            ax2.axvline(d, color="grey", ls=":", lw=1)
            ax2.annotate(f"d={d}: {cumulative[d - 1]:.1%}", (d, cumulative[d - 1]),
                         textcoords="offset points", xytext=(4, -12), fontsize=8)
    ax2.set_xscale("log")
    ax2.set_title("cumulative explained variance")
    ax2.set_xlabel("components")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
    return fig


def pca_failures(per_class: list[dict], dim: int, top: int = 3) -> list[dict]:
    """The classes where PCA at `dim` is worst relative to the best autoencoder (and in
    absolute terms), most behind first."""
    pca = {r["class"]: r["sse_per_image"] for r in per_class
           if r["method"] == "pca" and r["dim"] == dim}
    ae: dict[str, float] = {}
    for r in per_class:
        if r["method"] != "pca" and r["dim"] == dim:
            ae[r["class"]] = min(ae.get(r["class"], np.inf), r["sse_per_image"])
    rows = [{"class": c, "pca_sse": v, "best_ae_sse": ae.get(c),
             "pca_over_ae": v / ae[c] if ae.get(c) else None} for c, v in pca.items()]
    rows.sort(key=lambda r: -(r["pca_over_ae"] or r["pca_sse"]))
    return rows[:top]


def _sections(name, opts, records, per_class, variance, figures, n_train, n_test):
    cumulative = np.cumsum(variance)
    intro = (f"Dataset {name}: {n_train} training images, {n_test} test images (the official "
             f"test set{' subset' if n_test < 10000 else ''}). Autoencoders trained for "
             f"{opts.epochs} epochs with {opts.loss} loss, Adam 1e-3, batch "
             f"{opts.batch_size}, seed {opts.seed}; dense hidden {list(opts.dense_hidden)}, "
             f"conv channels {list(opts.conv_channels)} with a dense bottleneck. Squared error per "
             "image is the sum over pixels (in [0, 1]) of the squared error, averaged over test "
             "images. Published on MNIST: PCA-30 13.87, Hinton & Salakhutdinov's deep "
             "784-1000-500-250-30 autoencoder 3.00 (pretrained with RBMs, long training).")
    pivot = []
    for dim in opts.dims:
        row = {"dim": dim}
        for r in records:
            if r["dim"] == dim:
                row[f"{r['method']} sse/image"] = r["sse_per_image"]
        pivot.append(row)
    class_rows = []
    for dim in opts.dims:
        for method in opts.methods:
            row = {"method": method, "dim": dim}
            row |= {r["class"]: r["sse_per_image"] for r in per_class
                    if r["method"] == method and r["dim"] == dim}
            class_rows.append(row)
    fails, worst = [], []
    if "pca" in opts.methods and len(opts.methods) > 1:
        for dim in opts.dims:
            fails += [{"dim": dim, **r} for r in pca_failures(per_class, dim)]
    for dim in opts.dims if "pca" in opts.methods else ():
        rows = sorted((r for r in per_class if r["method"] == "pca" and r["dim"] == dim),
                      key=lambda r: -r["sse_per_image"])[:3]
        worst.append(f"d={dim}: " + ", ".join(f"{r['class']} ({r['sse_per_image']:.2f})"
                                             for r in rows))
    var_rows = [{"components": d, "cumulative explained variance": float(cumulative[d - 1])}
                for d in opts.dims if d <= len(cumulative)]
    by_name = {p.name: p for p in figures}
    sections = [
        ("Setting", [intro]),
        ("Squared error per test image", [pivot, by_name["squared_error_per_image.png"]]),
        ("All results", [records]),
        ("Per-class squared error per image", [class_rows]),
        ("Where PCA falls behind", [
            "For each code size, the three classes where PCA's error is largest relative to the "
            "best autoencoder's (pca_over_ae).", fails or "(needs PCA and an autoencoder)",
            "PCA's largest squared error per image, by class: " + "; ".join(worst) + "."]),
        ("PCA explained variance", [var_rows, by_name["explained_variance.png"]]),
        ("Reconstructions, side by side (one test image per class)",
         [by_name[f"reconstructions_d{d}.png"] for d in opts.dims]),
    ]
    return sections
