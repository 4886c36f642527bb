"""Quickstart study: a dense and a convolutional autoencoder on the same data, side by side.

It proves the whole path (data -> runs -> metrics -> one comparison report) in seconds on the
bundled digits, and is the template the other studies follow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..config import RunConfig
from ..executors import PlannedRun
from ..report.html import comparison_sections
from . import STUDIES
from .base import Results, Study, StudyOptions

MODELS = {
    "dense": {"name": "dense", "latent_dim": 16, "hidden": [128, 64]},
    "conv": {"name": "conv", "latent_dim": 16, "channels": [16, 32]},
}
SHOWN = ("test_mse", "test_psnr_db", "test_ssim", "parameters", "train_seconds", "epochs")


@dataclass(frozen=True)
class Options(StudyOptions):
    """`epochs` per model (30; quick 2); `limit` training and `test_limit` test images (all;
    quick 400 and 200); `seed` (0)."""

    epochs: int = 30
    limit: int | None = None
    test_limit: int | None = None
    seed: int = 0
    QUICK = {"epochs": 2, "limit": 400, "test_limit": 200}


@STUDIES.register("quickstart")
class Quickstart(Study):
    """Train `dense` and `conv` (latent 16) on the dataset (default digits); compare them."""

    Options = Options
    dataset_full = dataset_quick = "digits"

    def title(self) -> str:
        return "Quickstart: dense vs convolutional autoencoder"

    def plan(self) -> list[PlannedRun]:
        o = self.opts
        return [PlannedRun(name, RunConfig.from_dict({
            "name": f"quickstart-{name}",
            "data": {"name": self.dataset, "limit": o.limit, "test_limit": o.test_limit},
            "model": model,
            "train": {"epochs": o.epochs, "batch_size": 64, "seed": o.seed},
        })) for name, model in MODELS.items()]

    def score(self, runs: dict[str, Path]) -> Results:
        self.runs = runs
        records = []
        for name, folder in runs.items():
            m = json.loads((folder / "metrics.json").read_text())
            records.append({"model": name, **{k: m[k] for k in SHOWN}})
        return Results(records)

    def report(self, results: Results):
        return comparison_sections(list(self.runs.values()))
