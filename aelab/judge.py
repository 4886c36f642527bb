"""The judge: a reference CNN trained on a dataset's full training set, kept as a run folder.

Generated images are judged by it (is this a 3? how sure? where does it sit in feature space?),
so it must be trained once per dataset and reused by every study. `judge_run` trains it into a
folder, or returns the folder unchanged when it already holds a judge trained with the same
settings; `load_judge` rebuilds the classifier from that folder.

A judge folder holds ``classifier.safetensors`` (weights plus spec, no pickle),
``config.json`` (the settings: the cache key), ``history.json`` and ``metrics.json`` (with
``test_accuracy`` on the official test set).

Example
-------
>>> import tempfile
>>> run = judge_run("digits", tempfile.mkdtemp(), epochs=1, channels=(8,), hidden=16)
>>> 0.0 <= json.loads((run / "metrics.json").read_text())["test_accuracy"] <= 1.0
True
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from torch import nn

from .data import load_dataset
from .errors import DataError
from .models.classifier import create_classifier, load_classifier, save_classifier
from .train import write_json
from .train.classify import accuracy, train_classifier
from .train.seed import seeded

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("runs") / "judges"
"""Where `judge_run` keeps judges when no folder is given: ``runs/judges/<dataset>``."""


def judge_run(dataset: str, run_dir: str | Path | None = None, *, epochs: int = 3,
              batch_size: int = 128, lr: float = 3e-3, shift: int = 1, seed: int = 0,
              limit: int | None = None, channels: Sequence[int] = (32, 64), hidden: int = 128,
              data_dir: str | None = None, device: str = "auto", progress=None,
              force: bool = False) -> Path:
    """Train the reference CNN on `dataset`'s training set into `run_dir`, or reuse it.

    Parameters
    ----------
    dataset : str
        A registered dataset name (mnist, fashion_mnist, kmnist, digits, ...).
    run_dir : path, optional
        The judge's folder; default ``runs/judges/<dataset>``.
    epochs, batch_size, lr, shift, seed :
        Training settings (`aelab.train.classify.train_classifier`); `shift` is the random
        translation in pixels used as augmentation.
    limit : int, optional
        Train on the first `limit` images only (for tests; a judge should see all of them).
    channels, hidden :
        The CNN's stages and feature width (`aelab.models.classifier.ReferenceCNN`).
    force : bool
        Retrain even when the folder holds a judge with these settings.

    Returns
    -------
    Path
        The judge's folder; its ``metrics.json`` has ``test_accuracy``.
    """
    run_dir = Path(run_dir) if run_dir is not None else DEFAULT_ROOT / dataset
    settings = {"dataset": dataset, "classifier": "cnn", "channels": list(channels),
                "hidden": int(hidden), "epochs": int(epochs), "batch_size": int(batch_size),
                "lr": float(lr), "shift": int(shift), "seed": int(seed), "limit": limit}
    if not force and _cached(run_dir, settings):
        log.info("reusing the judge in %s", run_dir)
        return run_dir
    data = load_dataset(dataset, data_dir=data_dir, progress=progress)
    if len(data.x_train) == 0:
        raise DataError(f"dataset {dataset!r} has no training images here, so no judge can be "
                        "trained for it; point AELAB_DATA at a folder that has them.")
    x, y = data.x_train[:limit], data.y_train[:limit]
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").unlink(missing_ok=True)   # a half-written judge is never cached
    write_json(run_dir / "config.json", settings)
    with seeded(seed):
        model = create_classifier("cnn", data.image_shape, len(data.class_names),
                                  channels=list(channels), hidden=int(hidden))
    t0 = time.perf_counter()
    history = train_classifier(model, x, y, epochs=epochs, batch_size=batch_size, lr=lr,
                               seed=seed, device=device, shift=shift)
    seconds = time.perf_counter() - t0
    model.cpu()
    save_classifier(model, run_dir / "classifier.safetensors")
    write_json(run_dir / "history.json", history)
    metrics = {"dataset": dataset, "test_accuracy": accuracy(model, data.x_test, data.y_test),
               "train_accuracy_last_epoch": history[-1]["accuracy"], "epochs": epochs,
               "n_train": len(x), "n_test": len(data.x_test), "train_seconds": seconds,
               "parameters": sum(p.numel() for p in model.parameters())}
    write_json(run_dir / "metrics.json", metrics)
    log.info("judge for %s: test accuracy %.4f", dataset, metrics["test_accuracy"])
    return run_dir


def _cached(run_dir: Path, settings: dict) -> bool:
    files = [run_dir / n for n in ("config.json", "metrics.json", "classifier.safetensors")]
    if not all(f.is_file() for f in files):
        return False
    return json.loads(files[0].read_text()) == settings


def load_judge(run_dir: str | Path) -> nn.Module:
    """The judge classifier of a folder written by `judge_run` (CPU, eval mode)."""
    path = Path(run_dir) / "classifier.safetensors"
    if not path.is_file():
        raise DataError(f"{str(path)!r} is missing: {str(run_dir)!r} is not a judge folder. "
                        "Create one with aelab.judge.judge_run(dataset).")
    return load_classifier(path)


def judge_accuracy(run_dir: str | Path) -> float:
    """The judge's test accuracy, as recorded in its ``metrics.json``."""
    return float(json.loads((Path(run_dir) / "metrics.json").read_text())["test_accuracy"])

