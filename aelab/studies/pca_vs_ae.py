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
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from ..data import load_dataset
from ..errors import ConfigError
from ..report.figures import save_figure
from ..report.page import write_html_page
from . import STUDIES
from ._shared import (
    ae_reconstruct,
    flat_pixels,
    one_per_class,
    per_image_sse,
    rows_figure,
    study_command,
    train_ae,
    write_results,
)

METHODS = ("pca", "dense", "conv")
DEFAULTS = {"dims": [2, 10, 30, 64], "methods": list(METHODS), "epochs": 10, "limit": None,
            "dense_hidden": [1000, 500, 250], "conv_channels": [32, 64], "loss": "bce",
            "batch_size": 128, "seed": 0}
QUICK = {"dims": [2, 10], "epochs": 2, "limit": 300, "test_limit": 200,
         "dense_hidden": [64, 32], "conv_channels": [8, 16]}


@STUDIES.register("pca-vs-ae")
def pca_vs_ae(out_dir: Path, *, quick: bool = False, dataset: str | None = None, progress=None,
              callbacks=(), dims: list | None = None, methods: list | None = None,
              epochs: int | None = None, limit: int | None = None,
              dense_hidden: list | None = None, conv_channels: list | None = None,
              loss: str = "bce", batch_size: int = 128, seed: int = 0) -> Path:
    """Compare PCA, a dense and a conv autoencoder at each code size; return the report.

    Options: `dims` code sizes ([2, 10, 30, 64]; quick [2, 10]); `methods` (pca, dense,
    conv); `epochs` per autoencoder (10; quick 2); `limit` training images (all; quick 300;
    PCA uses the same ones); `dense_hidden` ([1000, 500, 250], the 2006 stack);
    `conv_channels` ([32, 64]); `loss` of the autoencoders (bce); `batch_size`; `seed`.
    """
    base = {**DEFAULTS, **(QUICK if quick else {})}
    name = dataset or ("digits" if quick else "mnist")
    opts = {"dims": list(dims or base["dims"]), "methods": list(methods or METHODS),
            "epochs": epochs or base["epochs"], "limit": limit or base["limit"],
            "dense_hidden": list(dense_hidden or base["dense_hidden"]),
            "conv_channels": list(conv_channels or base["conv_channels"]),
            "loss": loss, "batch_size": batch_size, "seed": seed}
    unknown = sorted(set(opts["methods"]) - set(METHODS))
    if unknown:
        raise ConfigError(f"methods: {unknown[0]!r} is not one of {', '.join(METHODS)}.")
    out_dir = Path(out_dir)
    fig_dir = out_dir / "figures"
    data = load_dataset(name, progress=progress)
    n_pixels = int(np.prod(data.image_shape))
    bad = [d for d in opts["dims"] if not (isinstance(d, int) and 1 <= d <= n_pixels)]
    if bad:
        raise ConfigError(f"dims: each code size must be an integer in [1, {n_pixels}] for "
                          f"{name!r}; got {bad[0]!r}.")
    x_train = _training_subset(data, opts["limit"], seed)
    test_limit = base.get("test_limit")
    x_test, y_test = data.x_test[:test_limit], data.y_test[:test_limit]

    records, per_class, recs = [], [], {}
    for dim in opts["dims"]:
        for method in opts["methods"]:
            t0 = time.perf_counter()
            if method == "pca":
                x_rec, extra = _pca(x_train, x_test, dim), {"epochs": None}
                extra["train_seconds"] = time.perf_counter() - t0
            else:
                x_rec, extra = _autoencoder(out_dir, method, dim, name, x_test, opts,
                                            test_limit, progress, callbacks)
            sse = per_image_sse(x_test, x_rec)
            records.append({"method": method, "dim": dim, "mse": float(sse.mean() / n_pixels),
                            "sse_per_image": float(sse.mean()),
                            "train_seconds": round(extra.pop("train_seconds"), 2),
                            **extra, "n_train": len(x_train), "n_test": len(x_test)})
            per_class += [{"method": method, "dim": dim, "class": data.class_names[c],
                           "sse_per_image": float(sse[y_test == c].mean())}
                          for c in range(len(data.class_names)) if (y_test == c).any()]
            recs[method, dim] = x_rec
    variance = PCA(min(len(x_train), n_pixels), svd_solver="full").fit(
        flat_pixels(x_train)).explained_variance_ratio_
    command = study_command("pca-vs-ae", dataset, quick, opts, base)
    write_results(out_dir, study="pca-vs-ae", dataset=name, command=command,
                  settings=opts | {"n_train": len(x_train), "n_test": len(x_test)},
                  records=records)
    figures = _figures(fig_dir, records, variance, opts, recs, x_test, y_test,
                       len(data.class_names))
    return _report(out_dir, name, opts, records, per_class, variance, figures, data.class_names,
                   len(x_train), len(x_test))


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


def _autoencoder(out_dir, method, dim, dataset, x_test, opts, test_limit, progress, callbacks):
    model = ({"name": "dense", "latent_dim": dim, "hidden": opts["dense_hidden"]}
             if method == "dense" else
             {"name": "conv", "latent_dim": dim, "channels": opts["conv_channels"],
              "upsample": "transposed", "batch_norm": True})
    run, net, metrics = train_ae(out_dir, f"{method}-{dim}", dataset=dataset, model=model,
                                 epochs=opts["epochs"], limit=opts["limit"],
                                 test_limit=test_limit, loss={"name": opts["loss"]},
                                 batch_size=opts["batch_size"], seed=opts["seed"],
                                 progress=progress, callbacks=callbacks)
    return ae_reconstruct(net, x_test), {"train_seconds": metrics["train_seconds"],
                                         "epochs": metrics["epochs"],
                                         "parameters": metrics["parameters"]}


def _figures(fig_dir, records, variance, opts, recs, x_test, y_test, n_classes) -> list[Path]:
    out = [save_figure(_error_plot(records), fig_dir / "squared_error_per_image.png"),
           save_figure(_variance_plot(variance, opts["dims"]), fig_dir / "explained_variance.png")]
    idx = one_per_class(y_test, n_classes)
    for dim in opts["dims"]:
        rows = {"original": x_test[idx] / 255.0}
        rows |= {f"{m} ({dim})": recs[m, dim][idx] for m in opts["methods"]}
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


def _report(out_dir, name, opts, records, per_class, variance, figures, class_names,
            n_train, n_test) -> Path:
    cumulative = np.cumsum(variance)
    intro = (f"Dataset {name}: {n_train} training images, {n_test} test images (the official "
             f"test set{' subset' if n_test < 10000 else ''}). Autoencoders trained for "
             f"{opts['epochs']} epochs with {opts['loss']} loss, Adam 1e-3, batch "
             f"{opts['batch_size']}, seed {opts['seed']}; dense hidden {opts['dense_hidden']}, "
             f"conv channels {opts['conv_channels']} with a dense bottleneck. Squared error per "
             "image is the sum over pixels (in [0, 1]) of the squared error, averaged over test "
             "images. Published on MNIST: PCA-30 13.87, Hinton & Salakhutdinov's deep "
             "784-1000-500-250-30 autoencoder 3.00 (pretrained with RBMs, long training).")
    pivot = []
    for dim in opts["dims"]:
        row = {"dim": dim}
        for r in records:
            if r["dim"] == dim:
                row[f"{r['method']} sse/image"] = r["sse_per_image"]
        pivot.append(row)
    class_rows = []
    for dim in opts["dims"]:
        for method in opts["methods"]:
            row = {"method": method, "dim": dim}
            row |= {r["class"]: r["sse_per_image"] for r in per_class
                    if r["method"] == method and r["dim"] == dim}
            class_rows.append(row)
    fails, worst = [], []
    if "pca" in opts["methods"] and len(opts["methods"]) > 1:
        for dim in opts["dims"]:
            fails += [{"dim": dim, **r} for r in pca_failures(per_class, dim)]
    for dim in opts["dims"] if "pca" in opts["methods"] else ():
        rows = sorted((r for r in per_class if r["method"] == "pca" and r["dim"] == dim),
                      key=lambda r: -r["sse_per_image"])[:3]
        worst.append(f"d={dim}: " + ", ".join(f"{r['class']} ({r['sse_per_image']:.2f})"
                                             for r in rows))
    var_rows = [{"components": d, "cumulative explained variance": float(cumulative[d - 1])}
                for d in opts["dims"] if d <= len(cumulative)]
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
         [by_name[f"reconstructions_d{d}.png"] for d in opts["dims"]]),
    ]
    return write_html_page(out_dir / "report.html", f"PCA vs autoencoders on {name}", sections,
                           subtitle=f"code sizes {opts['dims']}; methods {opts['methods']}")
