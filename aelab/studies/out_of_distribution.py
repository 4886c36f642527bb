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

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from matplotlib.figure import Figure

from ..config import RunConfig
from ..data import DATASETS, load_dataset
from ..errors import ConfigError, DataError
from ..evaluate.ood import ood_summary, per_image_errors
from ..executors import PlannedRun
from ..infer import reconstruct
from ..report.figures import reconstruction_grid, save_figure
from ..runs import load_run
from . import STUDIES
from .base import Results, Study, StudyOptions

MODELS = {
    "dense": {"name": "dense", "latent_dim": 32, "hidden": [512, 256]},
    # Batch norm: without it this conv AE collapsed to the mean image on MNIST (MSE, lr 1e-3).
    "conv": {"name": "conv", "latent_dim": 32, "channels": [32, 64], "batch_norm": True},
}
SYNTHETIC = ("noise", "inverted")
EPOCHS = {"full": {"dense": 15, "conv": 6}, "quick": {"dense": 10, "conv": 4}}


@dataclass(frozen=True)
class Options(StudyOptions):
    """`sources` (fashion_mnist, kmnist, noise; quick: noise, inverted), `models` (subset of
    dense, conv), `epochs` for every model (default dense 15 / conv 6; quick 10 / 4), `limit`
    training images (all; quick 400), `test_limit` in-distribution test images (all; quick
    200), `seed` (0)."""

    sources: tuple[str, ...] = ("fashion_mnist", "kmnist", "noise")
    models: tuple[Literal["dense", "conv"], ...] = ("dense", "conv")
    epochs: int | None = None
    limit: int | None = None
    test_limit: int | None = None
    seed: int = 0
    QUICK = {"sources": ("noise", "inverted"), "limit": 400, "test_limit": 200}

    def check(self, study: str) -> None:
        for s in self.sources:
            if s not in SYNTHETIC and s not in DATASETS.names():
                raise ConfigError(f"study {study!r}: option sources: {s!r} is neither a dataset "
                                  f"({', '.join(DATASETS.names())}) nor a synthetic source "
                                  f"({', '.join(SYNTHETIC)}).")


@STUDIES.register("out-of-distribution")
class OutOfDistribution(Study):
    """Train on the dataset (default mnist; digits with --quick), score every source."""

    Options = Options

    def epochs(self, model: str) -> int:
        return self.opts.epochs or EPOCHS["quick" if self.quick else "full"][model]

    def plan(self) -> list[PlannedRun]:
        o = self.opts
        return [PlannedRun(m, RunConfig.from_dict({
            "name": f"ood-{m}",
            "data": {"name": self.dataset, "limit": o.limit, "test_limit": o.test_limit,
                     "val_fraction": 0.1},
            "model": MODELS[m],
            "train": {"epochs": self.epochs(m), "batch_size": 128, "seed": o.seed},
        })) for m in o.models]

    def score(self, runs: dict[str, Path]) -> Results:
        o = self.opts
        x_in = load_dataset(self.dataset, progress=self.progress,
                            splits=("test",)).x_test[:o.test_limit]
        self.inputs = {self.dataset: x_in} | {s: _source(s, x_in, o.seed, self.progress)
                                              for s in o.sources}
        records, self.train_seconds = [], {}
        for m, run in runs.items():
            _, model = load_run(run)
            self.train_seconds[m] = json.loads((run / "metrics.json").read_text())[
                "train_seconds"]
            errors = {}
            for source, x in self.inputs.items():
                x_rec = reconstruct(model, x)
                errors[source] = per_image_errors(x, x_rec)["sse"]
                save_figure(reconstruction_grid(x[:16], x_rec[:16], n=16),
                            self.fig_dir / f"{m}-reconstructions-{source}.png")
            records += _records(m, self.dataset, self.inputs, errors)
            save_figure(_histogram(errors, m), self.fig_dir / f"{m}-error-histogram.png")
        return Results(records, settings={
            "models": {m: MODELS[m] for m in o.models},
            "epochs": {m: self.epochs(m) for m in o.models}, "loss": "mse",
            "score": "squared error per image (sum over pixels in [0, 1])"},
            extra={"train_seconds": self.train_seconds, "seconds": self.seconds()})

    def report(self, results: Results):
        return _sections(self.fig_dir, self.dataset, list(self.opts.models), results.records,
                         self.inputs, self.train_seconds)

    def title(self) -> str:
        return f"Out-of-distribution inputs ({self.dataset})"

    def subtitle(self, command: str) -> str:
        return (f"trained on {self.dataset}; sources: "
                f"{', '.join(s for s in self.inputs if s != self.dataset)}")


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


def _sections(fig_dir: Path, name: str, models: list, records: list, inputs: dict,
              train_seconds: dict):
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
    return sections
