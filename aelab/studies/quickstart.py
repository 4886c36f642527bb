"""Quickstart study: a dense and a convolutional autoencoder on the same data, side by side.

It proves the whole path (data -> runs -> metrics -> one comparison report) in seconds on the
bundled digits, and is the template the other studies follow.
"""

from __future__ import annotations

from pathlib import Path

from ..config import RunConfig
from ..report.html import build_comparison
from ..runs import train_run
from . import STUDIES

MODELS = {
    "dense": {"name": "dense", "latent_dim": 16, "hidden": [128, 64]},
    "conv": {"name": "conv", "latent_dim": 16, "channels": [16, 32]},
}


@STUDIES.register("quickstart")
def quickstart(out_dir: Path, *, quick: bool = False, dataset: str | None = None,
               progress=None, callbacks=()) -> Path:
    """Train `dense` and `conv` (latent 16) on `dataset` (default digits); compare them."""
    runs = []
    for name, model in MODELS.items():
        cfg = RunConfig.from_dict({
            "name": f"quickstart-{name}",
            "data": {"name": dataset or "digits", "limit": 400 if quick else None,
                     "test_limit": 200 if quick else None},
            "model": model,
            "train": {"epochs": 2 if quick else 30, "batch_size": 64, "seed": 0},
        })
        runs.append(train_run(cfg, out_dir / "runs" / name, overwrite=True,
                              progress=progress, callbacks=callbacks))
    return build_comparison(runs, out_dir, title="Quickstart: dense vs convolutional autoencoder")
