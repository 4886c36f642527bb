"""Out-of-distribution study: an autoencoder trained on one dataset (MNIST by default)
reconstructs images it never saw (Fashion-MNIST, KMNIST, uniform noise).

For each autoencoder (dense and convolutional) the study trains one run on the in-distribution
training set, reconstructs the in-distribution test set and every out-of-distribution source,
and reports the squared error per image of each source, example reconstructions, error
histograms, and how well the reconstruction error alone flags the foreign images (AUROC and
the false-positive rate at 95 % true-positive rate, `aelab.evaluate.ood`).

Sources are dataset names (their test split, which must have the same image shape as the
training data) or synthetic: ``noise`` (uniform pixels) and ``inverted`` (the in-distribution
test images with black and white swapped; used by ``--quick`` on the 8x8 digits, where no
other dataset has the same shape).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..config import RunConfig
from ..data import DATASETS, load_dataset
from ..errors import ConfigError, DataError
from ..evaluate.ood import ood_summary, per_image_errors
from ..provenance import provenance
from ..report.figures import reconstruction_grid, save_figure
from ..report.page import write_html_page
from ..runs import load_run, reconstruct, train_run
from ..train import write_json
from . import STUDIES

MODELS = {
    "dense": {"name": "dense", "latent_dim": 32, "hidden": [512, 256]},
    # Batch norm: without it this conv AE collapsed to the mean image on MNIST (MSE, lr 1e-3).
    "conv": {"name": "conv", "latent_dim": 32, "channels": [32, 64], "batch_norm": True},
}
SYNTHETIC = ("noise", "inverted")
FULL = {"dataset": "mnist", "sources": ("fashion_mnist", "kmnist", "noise"),
        "epochs": {"dense": 15, "conv": 6}, "limit": None, "test_limit": None}
QUICK = {"dataset": "digits", "sources": ("noise", "inverted"),
         "epochs": {"dense": 10, "conv": 4}, "limit": 400, "test_limit": 200}


@STUDIES.register("out-of-distribution")
def out_of_distribution(out_dir: Path, *, quick: bool = False, dataset: str | None = None,
                        progress=None, callbacks=(), sources: list | None = None,
                        models: list | None = None, epochs: int | None = None,
                        limit: int | None = None, seed: int = 0) -> Path:
    """Train on `dataset` (default mnist; digits with --quick), score every source; return
    ``report.html``. Also writes ``results.json`` (flat records) and ``figures/``.

    Options: `sources` (default [fashion_mnist, kmnist, noise]; [noise, inverted] with
    --quick), `models` (subset of dense, conv), `epochs` (for every model; default dense 15 /
    conv 6), `limit` (training images; default all), `seed`.
    """
    base = QUICK if quick else FULL
    name = dataset or base["dataset"]
    sources = list(sources or base["sources"])
    models = list(models or MODELS)
    for m in models:
        if m not in MODELS:
            raise ConfigError(f"models: unknown autoencoder {m!r}; choose from "
                              f"{', '.join(MODELS)}.")
    for s in sources:
        if s not in SYNTHETIC and s not in DATASETS.names():
            raise ConfigError(f"sources: {s!r} is neither a dataset ({', '.join(DATASETS.names())})"
                              f" nor a synthetic source ({', '.join(SYNTHETIC)}).")
    out_dir, t0 = Path(out_dir), time.perf_counter()
    fig_dir = out_dir / "figures"
    records, train_seconds = [], {}
    data = None
    for m in models:
        cfg = RunConfig.from_dict({
            "name": f"ood-{m}",
            "data": {"name": name, "limit": limit or base["limit"],
                     "test_limit": base["test_limit"], "val_fraction": 0.1},
            "model": MODELS[m],
            "train": {"epochs": epochs or base["epochs"][m], "batch_size": 128, "seed": seed},
        })
        t_run = time.perf_counter()
        run = train_run(cfg, out_dir / "runs" / m, overwrite=True, progress=progress,
                        callbacks=callbacks)
        train_seconds[m] = time.perf_counter() - t_run
        _, model = load_run(run)
        if data is None:
            data = load_dataset(name, progress=progress, splits=("test",))
            x_in = data.x_test[: base["test_limit"]]
            inputs = {name: x_in} | {s: _source(s, x_in, seed, progress) for s in sources}
        errors = {}
        for source, x in inputs.items():
            x_rec = reconstruct(model, x)
            errors[source] = per_image_errors(x, x_rec)["sse"]
            save_figure(reconstruction_grid(x[:16], x_rec[:16], n=16),
                        fig_dir / f"{m}-reconstructions-{source}.png")
        records += _records(m, name, inputs, errors)
        save_figure(_histogram(errors, m), fig_dir / f"{m}-error-histogram.png")
    seconds = time.perf_counter() - t0
    write_json(out_dir / "results.json", study_results(
        "out-of-distribution", name, records, quick=quick,
        settings={"models": {m: MODELS[m] for m in models}, "sources": sources,
                  "epochs": {m: epochs or base["epochs"][m] for m in models},
                  "limit": limit or base["limit"], "test_limit": base["test_limit"],
                  "seed": seed, "loss": "mse", "score": "squared error per image (sum over "
                  "pixels in [0, 1])"},
        extra={"train_seconds": train_seconds, "seconds": seconds}, options=f" --out {out_dir}"))
    return _report(out_dir, name, models, records, inputs, train_seconds)


def _source(source: str, x_in: np.ndarray, seed: int, progress) -> np.ndarray:
    """The test images of one out-of-distribution source, shaped like `x_in` (uint8)."""
    if source == "noise":
        rng = np.random.default_rng(seed)
        return rng.integers(0, 256, size=x_in.shape, dtype=np.uint8)
    if source == "inverted":
        return 255 - x_in
    x = load_dataset(source, progress=progress, splits=("test",)).x_test
    if x.shape[1:] != x_in.shape[1:]:
        raise DataError(f"source {source!r} has images {x.shape[1:]}, but the autoencoder was "
                        f"trained on {x_in.shape[1:]}; choose sources with the same image "
                        f"shape, or the synthetic ones ({', '.join(SYNTHETIC)}).")
    return x[: len(x_in)]


def _records(model: str, name: str, inputs: dict, errors: dict) -> list[dict]:
    rows = []
    for source, sse in errors.items():
        summary = None if source == name else ood_summary(errors[name], sse)
        rows.append({"model": model, "source": source, "in_distribution": source == name,
                     "n": len(sse), "sse_per_image": float(sse.mean()),
                     "sse_median": float(np.median(sse)),
                     "mse": float(sse.mean() / inputs[source][0].size),
                     "auroc": None if summary is None else summary["auroc"],
                     "fpr_at_95_tpr": None if summary is None else summary["fpr_at_95_tpr"]})
    return rows


def _histogram(errors: dict[str, np.ndarray], model: str) -> Figure:
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.add_subplot()
    top = max(float(np.percentile(e, 99.5)) for e in errors.values())
    bins = np.linspace(0.0, top, 60)
    for source, e in errors.items():
        ax.hist(np.clip(e, 0, top), bins=bins, histtype="step", density=True, label=source)
    ax.set_xlabel("squared error per image")
    ax.set_ylabel("density")
    ax.set_title(f"{model} autoencoder: reconstruction error by source")
    ax.legend()
    return fig


def study_results(study: str, dataset: str, records: list[dict], *, quick: bool,
                  settings: dict, extra: dict | None = None, options: str = "") -> dict:
    """A result file: study, command, machine, versions, settings and flat `records`."""
    command = (f"AELAB_DATA=../shared/datasets aelab study {study}{' --quick' if quick else ''}"
               f" --dataset {dataset}{options}")
    return {"study": study, "dataset": dataset, **provenance(command),
            "settings": settings, **(extra or {}), "records": records}


def _report(out_dir: Path, name: str, models: list, records: list, inputs: dict,
            train_seconds: dict) -> Path:
    fig_dir = out_dir / "figures"
    table = [{k: r[k] for k in ("model", "source", "n", "sse_per_image", "sse_median", "mse",
                                "auroc", "fpr_at_95_tpr")} for r in records]
    sections = [
        ("Set-up", [
            f"Autoencoders ({', '.join(models)}) trained on {name}; every source below is "
            "reconstructed by them. The out-of-distribution score is the squared error per "
            "image (pixels in [0, 1], summed). AUROC: the chance that a foreign image scores "
            "higher than an in-distribution test image (1 = perfect, 0.5 = chance, below 0.5: "
            "the foreign images are reconstructed *better*). FPR at 95 % TPR: the share of "
            f"{name} test images flagged when 95 % of the foreign ones are.",
            [{"model": m, "train_seconds": s} for m, s in train_seconds.items()],
        ]),
        ("Errors and AUROC per source", [table]),
    ]
    for m in models:
        blocks: list = [fig_dir / f"{m}-error-histogram.png"]
        blocks += [fig_dir / f"{m}-reconstructions-{s}.png" for s in inputs]
        sections.append((f"{m} autoencoder: histogram and reconstructions", blocks))
    return write_html_page(out_dir / "report.html", f"Out-of-distribution inputs ({name})",
                           sections, subtitle=f"trained on {name}; sources: "
                           f"{', '.join(s for s in inputs if s != name)}")
