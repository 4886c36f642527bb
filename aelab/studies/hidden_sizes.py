"""Hidden sizes: how wide must one hidden layer be, and what does depth buy?

The one-hidden-layer autoencoder fc(x) -> fc(784) (ReLU code of size x, sigmoid output) for
x in 64, 128, 256, and the deep stack 784-512-256-128-30 (ReLU, linear 30-dim code), all
trained the same way. Reported: training curves on one plot, test errors, parameters and
training time, and reconstructions of the same test images side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..executors import PlannedRun
from ..report.figures import save_figure
from ..report.html import read_history
from . import STUDIES
from ._shared import ae_config, ae_reconstruct, one_per_class, rows_figure, trained
from .base import Results, Study, StudyOptions


@dataclass(frozen=True)
class Options(StudyOptions):
    """`sizes` of the one hidden layer ([64, 128, 256]; quick [16, 32]); `deep_hidden`
    ([512, 256, 128]) and `deep_latent` (30) of the deep stack; `epochs` (10; quick 2); `limit`
    training images (all; quick 300); `test_limit` test images (all; quick 200); `loss` (bce);
    `batch_size` (128); `seed` (0)."""

    sizes: tuple[int, ...] = (64, 128, 256)
    deep_hidden: tuple[int, ...] = (512, 256, 128)
    deep_latent: int = 30
    epochs: int = 10
    limit: int | None = None
    test_limit: int | None = None
    loss: str = "bce"
    batch_size: int = 128
    seed: int = 0
    QUICK = {"sizes": (16, 32), "deep_hidden": (32, 16), "deep_latent": 8, "epochs": 2,
             "limit": 300, "test_limit": 200}

    def check(self, study: str) -> None:
        if not self.sizes or not all(s >= 1 for s in self.sizes):
            raise ConfigError(f"study {study!r}: option sizes = {list(self.sizes)}: each hidden "
                              "size is a positive integer.")


@STUDIES.register("hidden-sizes")
class HiddenSizes(Study):
    """Train fc(x)-fc(pixels) for each x in `sizes` and the deep stack; compare them."""

    Options = Options

    def models(self) -> dict[str, dict]:
        """Label -> model config: the one-hidden-layer models, then the deep stack."""
        o = self.opts
        n_pixels = int(np.prod(self.data.image_shape))
        models = {f"fc({s})-fc({n_pixels})": {"name": "dense", "latent_dim": s, "hidden": [],
                                              "code_activation": "relu"} for s in o.sizes}
        deep = "-".join(map(str, [n_pixels, *o.deep_hidden, o.deep_latent]))
        models[deep] = {"name": "dense", "latent_dim": o.deep_latent,
                        "hidden": list(o.deep_hidden)}
        return models

    def plan(self) -> list[PlannedRun]:
        o = self.opts
        return [PlannedRun(_folder(label), ae_config(
            _folder(label), dataset=self.dataset, model=model, epochs=o.epochs, limit=o.limit,
            test_limit=o.test_limit, loss={"name": o.loss}, batch_size=o.batch_size,
            seed=o.seed)) for label, model in self.models().items()]

    def score(self, runs: dict[str, Path]) -> Results:
        x_test = self.data.x_test[:self.opts.test_limit]
        records, self.curves, self.recs = [], {}, {}
        for label, model in self.models().items():
            run = runs[_folder(label)]
            net, m = trained(run)
            self.curves[label] = read_history(run / "history.csv")
            self.recs[label] = ae_reconstruct(net, x_test)
            records.append({"model": label, "code_size": model["latent_dim"],
                            "test_mse": m["test_mse"],
                            "test_sse_per_image": m["test_sse_per_image"],
                            "test_psnr_db": m["test_psnr_db"], "test_ssim": m["test_ssim"],
                            "final_train_recon": self.curves[label][-1]["train_recon"],
                            "parameters": m["parameters"], "train_seconds": m["train_seconds"],
                            "epochs": m["epochs"], "n_train": m["n_train"],
                            "n_test": m["n_test"]})
        return Results(records)

    def report(self, results: Results):
        o, data, records = self.opts, self.data, results.records
        x_test, y_test = data.x_test[:o.test_limit], data.y_test[:o.test_limit]
        idx = one_per_class(y_test, len(data.class_names))
        rows = {"original": x_test[idx] / 255.0} | {k: v[idx] for k, v in self.recs.items()}
        curve_png = save_figure(_curves(self.curves, o.loss),
                                self.fig_dir / "training_curves.png")
        rec_png = save_figure(rows_figure(rows), self.fig_dir / "reconstructions.png")
        text = (f"Dataset {self.dataset}: {records[0]['n_train']} training images, "
                f"{len(x_test)} test images. Every model: {o.epochs} epochs, {o.loss} loss, Adam "
                f"1e-3, batch {o.batch_size}, seed {o.seed}. fc(x) is one ReLU layer of x units "
                "(the code); the output layer is a sigmoid. The deep stack has ReLU hidden "
                "layers and a linear code. Errors are on the test set, pixels in [0, 1].")
        return [("Setting", [text]), ("Test errors", [records]),
                ("Training curves", [curve_png]),
                ("Reconstructions, side by side (one test image per class)", [rec_png])]

    def title(self) -> str:
        return f"Hidden sizes on {self.dataset}"

    def subtitle(self, command: str) -> str:
        return f"one hidden layer of {list(self.opts.sizes)} vs {list(self.models())[-1]}"


def _folder(label: str) -> str:
    return label.replace("(", "").replace(")", "")


def _curves(curves: dict[str, list[dict]], loss: str) -> Figure:
    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for label, history in curves.items():
        ax.plot([r["epoch"] for r in history], [r["train_recon"] for r in history], marker="o",
                markersize=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"training {loss} (per pixel)")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig
