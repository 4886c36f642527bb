"""Autoencoders trained on a study's arrays, and their codes: shared by the `priors`,
`clustering` and `vae` studies (none of them imports another).

`study_arrays` gives a dataset's training, validation and evaluation images under the
clustering protocols (the official split, the test-only protocol where training images are
missing, N2D's cluster-everything protocol); `train_model` trains one model on them into a
folder and reuses or extends a finished one; `encode` gives the codes.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import LossConfig, TrainConfig
from ..data import load_dataset, train_val_split
from ..errors import DataError
from ..losses import build_objective
from ..models import create_model, load_model, save_model
from ..provenance import provenance
from ..report import read_history
from ..train import Batches, fit, resolve_device, seed_everything, write_json

log = logging.getLogger(__name__)


def write_result(path: Path, study: str, records: list[dict], **extra: Any) -> Path:
    """A result file: study, exact command, machine, versions, flat records."""
    write_json(path, {"study": study, **provenance(), **extra, "records": records})
    return path


def study_arrays(dataset: str, *, limit: int | None, seed: int, quick: bool,
                 cluster_all: bool = False) -> dict[str, Any]:
    """Training, validation and evaluation images for one dataset, and the protocol's name.

    Where the training split cannot be loaded (KMNIST's training images are not in the
    mirror), train on 90 % of the test images and cluster all of them. `cluster_all`
    evaluates on every image, training and test (N2D's protocol: clustering needs no labels,
    so all 70000 MNIST images are clustered and scored); the model still trains on the
    training split only.
    """
    try:
        data = load_dataset(dataset, download=False)
        x, y, protocol = data.x_train, data.y_train, None
    except DataError as e:
        log.warning("%s: no training images (%s); training on the test images",
                    dataset, str(e).splitlines()[0])
        data = load_dataset(dataset, download=False, splits=("test",))
        x, y, protocol = data.x_test, data.y_test, "test-only"
    rng = np.random.default_rng(seed)
    if limit is not None and limit < len(x) and protocol is None:
        keep = np.sort(rng.permutation(len(x))[:limit])
        x, y = x[keep], y[keep]
    tr, va = train_val_split(y, 0.1, seed=seed, stratify=False)     # labels stay unused
    head = slice(300) if quick else slice(None)
    x_eval, y_eval = data.x_test[head], data.y_test[head]
    n_eval_test = len(x_eval)
    if cluster_all and protocol is None:
        x_eval = np.concatenate([data.x_train[head], x_eval])
        y_eval = np.concatenate([data.y_train[head], y_eval])
        protocol = f"train {len(tr)} + val {len(va)} training images; cluster all " \
                   f"{len(x_eval)} training and test images (N2D protocol)"
    elif protocol is None:
        protocol = f"train {len(tr)} + val {len(va)} training images; cluster " \
                   f"{len(x_eval)} test images"
    else:
        protocol = f"test-only: train {len(tr)} + val {len(va)} of the {len(x_eval)} test " \
                   "images; cluster all of them"
    return {"x_train": x[tr], "x_val": x[va], "x_eval": x_eval, "y_eval": y_eval,
            "protocol": protocol, "n_eval_test": n_eval_test, "image_shape": data.image_shape,
            "class_names": data.class_names}


# Train settings that only decide which epoch's weights are kept, or when to stop early.
_KEEP_SETTINGS = ("restore_best", "patience")


def _extends(old: dict, new: dict) -> bool:
    """Whether `new` settings only raise `train.epochs` over the finished run's `old` ones
    (and perhaps change which epoch's weights are kept: `_KEEP_SETTINGS`)."""
    def core(settings: dict) -> dict:
        train = {k: v for k, v in settings["train"].items()
                 if k not in ("epochs", *_KEEP_SETTINGS)}
        return {**settings, "train": train}

    if not isinstance(old.get("train"), dict) or old["train"].get("epochs", 0) >= \
            new["train"]["epochs"]:
        return False
    return core(old) == core(new)


def train_model(run_dir: Path, model_cfg: dict, loss: dict, train: dict, arrays: dict,
                *, callbacks=(), corrupt=None) -> torch.nn.Module:
    """Train one model on the study's arrays into `run_dir` (config, weights, history).

    `corrupt` (e.g. an `AffineJitter`) acts on the input batch; the target stays clean. A
    run folder whose ``done.json`` holds the same settings is reused, not retrained, so a
    long study can be split over several invocations with the same output folder. One whose
    settings differ only by fewer `train.epochs` (and perhaps `restore_best` or `patience`) is
    extended: training resumes after its last epoch from its saved weights (the
    best-validation ones, when those were restored) and optimizer state, and ``timing.json``
    notes the epoch it resumed from.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = json.loads(json.dumps(
        {"model": model_cfg, "loss": loss, "train": train,
         "corrupt": repr(corrupt) if corrupt else None,
         "n_train": len(arrays["x_train"]), "n_val": len(arrays["x_val"])}))
    done = run_dir / "done.json"
    train_cfg = TrainConfig.from_dict(train)
    device = resolve_device(train_cfg.device)
    previous = json.loads(done.read_text()) if done.is_file() else None
    if previous == settings:
        log.info("reusing the finished run in %s", run_dir)
        return load_model(run_dir / "model.safetensors").to(device)
    history, spent = [], 0.0
    if previous is not None and _extends(previous, settings) \
            and (run_dir / "history.csv").is_file():
        history = read_history(run_dir / "history.csv")
        spent = run_train_seconds(run_dir) or 0.0
        log.info("extending the finished %d-epoch run in %s to %d epochs", len(history),
                 run_dir, train_cfg.epochs)
    done.unlink(missing_ok=True)
    loss_cfg = LossConfig.from_dict(loss)
    write_json(run_dir / "config.json", settings)
    seed_everything(train_cfg.seed)
    if history:
        model = load_model(run_dir / "model.safetensors").to(device)
    else:
        model = create_model(model_cfg["name"], input_shape=arrays["image_shape"],
                             **{k: v for k, v in model_cfg.items() if k != "name"}).to(device)
    objective = build_objective(loss_cfg, model)
    tr = Batches(arrays["x_train"], batch_size=train_cfg.batch_size, device=device,
                 shuffle=True, seed=train_cfg.seed)
    va = Batches(arrays["x_val"], batch_size=1000, device=device)
    t0 = time.perf_counter()
    fit(model, objective, tr, va, train_cfg, device=device, run_dir=run_dir,
        callbacks=callbacks, corrupt=corrupt, resume_from=history)
    write_json(run_dir / "timing.json",
               {"train_seconds": spent + time.perf_counter() - t0,
                "resumed_after_epoch": len(history) if history else None})
    save_model(model, run_dir / "model.safetensors")
    write_json(done, settings)
    return model.eval()


def run_train_seconds(run_dir: Path) -> float | None:
    """Seconds the run in `run_dir` spent training, also when it was reused: from
    ``timing.json``, or for runs older than that file the sum of the epochs' ``seconds`` in
    ``history.csv`` (validation excluded); None when neither exists."""
    timing = run_dir / "timing.json"
    if timing.is_file():
        return float(json.loads(timing.read_text())["train_seconds"])
    history = run_dir / "history.csv"
    if history.is_file():
        return float(sum(row["seconds"] for row in read_history(history)))
    return None


def run_resumed_after(run_dir: Path) -> int | None:
    """The epoch after which the run in `run_dir` was extended (see `train_model`), or None
    when it trained in one go."""
    timing = run_dir / "timing.json"
    return json.loads(timing.read_text()).get("resumed_after_epoch") if timing.is_file() \
        else None


@torch.no_grad()
def encode(model, images: np.ndarray) -> np.ndarray:
    """Codes (N, latent_dim) of uint8 images, in eval mode (a VAE gives mu)."""
    device = next(model.parameters()).device
    model.eval()
    return torch.cat([model.encode(x).flatten(1).cpu()
                      for x, _ in Batches(images, batch_size=1000, device=device)]).numpy()
