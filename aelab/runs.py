"""Run folders: config -> data -> model -> fit -> metrics -> figures -> report.

A run folder holds ``config.json`` and ``env.json`` (written before training),
``model.safetensors``, ``optimizer.safetensors`` and ``history.csv`` (rewritten at each epoch's
end), then ``metrics.json``, ``figures/*.png`` and ``report.html``. Every stage reads and writes
files, so any stage can be rerun alone: `evaluate_run` and `build_report` never retrain.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import _cpu
from .config import RunConfig
from .corruptions import build as build_corruption
from .data import ImageData, load_dataset, stratified_kfold, train_val_split
from .errors import ConfigError, DataError
from .evaluate import metrics
from .losses import build_objective
from .models import Autoencoder, create_model, load_model
from .provenance import command_line, provenance
from .report import figures
from .report.html import build_report, read_history
from .train import Batches, fit, resolve_device, seed_everything, write_json

log = logging.getLogger(__name__)


@dataclass
class Splits:
    """The arrays one run trains, validates and tests on (uint8, N x C x H x W)."""

    data: ImageData
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray


def prepare_data(cfg: RunConfig, *, progress=None, dataset: str | None = None) -> Splits:
    """Load the configured dataset, apply `limit`/`test_limit` and the validation split.

    The subset taken by `limit` and the validation split are seeded by ``train.seed``. A
    cross-validation fold (``data.folds``, ``data.fold``) trains on the other folds of the
    ``data.pool`` split and tests on its own, as `aelab.config.DataConfig` describes.
    """
    name = dataset or cfg.data.name
    options = cfg.data.options if dataset is None else {}
    data = load_dataset(name, data_dir=cfg.data.data_dir, progress=progress, **options)
    folded = cfg.data.folds is not None and dataset is None
    pool = cfg.data.pool if folded else "train"
    x, y = (data.x_test, data.y_test) if pool == "test" else (data.x_train, data.y_train)
    if len(x) == 0 and dataset is None:
        other = " or use --pool test" if folded and pool == "train" else ""
        raise DataError(f"dataset {name!r} has no {'test' if pool == 'test' else 'training'} "
                        f"images here; point AELAB_DATA at a "
                        f"folder that has them{other} or allow the download.")
    rng = np.random.default_rng(cfg.train.seed)
    if cfg.data.limit is not None and cfg.data.limit < len(x):
        keep = np.sort(rng.permutation(len(x))[: cfg.data.limit])
        x, y = x[keep], y[keep]
    x_test, y_test = data.x_test, data.y_test
    if folded:
        train, test = stratified_kfold(y, cfg.data.folds, cfg.train.seed)[cfg.data.fold - 1]
        x, y, x_test, y_test = x[train], y[train], x[test], y[test]
    x_val = y_val = None
    if cfg.data.val_fraction > 0 and len(x) > 1:
        tr, va = train_val_split(y, cfg.data.val_fraction, seed=cfg.train.seed)
        x, y, x_val, y_val = x[tr], y[tr], x[va], y[va]
    if cfg.data.test_limit is not None:
        x_test, y_test = x_test[: cfg.data.test_limit], y_test[: cfg.data.test_limit]
    return Splits(data, np.asarray(x), np.asarray(y), x_val, y_val,
                  np.asarray(x_test), np.asarray(y_test))


def environment(cfg: RunConfig, device: torch.device, command: list[str] | None) -> dict:
    """A run's env.json: the provenance (command, machine, versions) and how it trains."""
    line = command_line(command) if command is not None else None
    return provenance(line) | {
        "flush_denormal": _cpu.FLUSH_DENORMAL, "device": str(device), "seed": cfg.train.seed,
        "started_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def train_run(cfg: RunConfig, out_dir: str | Path, *, command: list[str] | None = None,
              progress=None, callbacks=(), overwrite: bool = False,
              resume: bool = False) -> Path:
    """Train one run into `out_dir`, then evaluate it and write its report.

    Parameters
    ----------
    cfg : RunConfig
    out_dir : path
        The run folder. If it already holds a run, pass ``overwrite=True`` to replace it or
        ``resume=True`` to continue it (see `resume_run`).
    progress : tqdm-like factory, optional
        Used for downloads and decoding.
    callbacks : sequence of aelab.train.Callback
        Progress display during training.

    Returns
    -------
    Path
        The run folder.
    """
    out = Path(out_dir)
    if (out / "model.safetensors").exists() and not (overwrite or resume):
        raise ConfigError(f"run folder {str(out)!r} already holds a run. Pass --resume {out} to "
                          "continue it, --overwrite to replace it, or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        for stale in ("history.csv", "metrics.json", "best.safetensors", "optimizer.safetensors"):
            (out / stale).unlink(missing_ok=True)
    device = resolve_device(cfg.train.device)
    write_json(out / "config.json", cfg.to_dict())
    write_json(out / "env.json", environment(cfg, device, command))
    seed_everything(cfg.train.seed)
    splits = prepare_data(cfg, progress=progress)
    history = read_history(out / "history.csv") if resume and (out / "history.csv").exists() \
        else []
    if history:
        model = load_model(out / "model.safetensors").to(device)
    else:
        model = create_model(cfg.model.name, input_shape=splits.data.image_shape,
                             **cfg.model.kwargs).to(device)
    objective = build_objective(cfg.loss, model)
    bs = cfg.train.batch_size
    train = Batches(splits.x_train, batch_size=bs, device=device, shuffle=True,
                    seed=cfg.train.seed)
    val = None if splits.x_val is None else Batches(splits.x_val, batch_size=max(bs, 512),
                                                    device=device)
    log.info("training %s on %s: %d train, %s val images", cfg.model.name, cfg.data.name,
             train.n, 0 if val is None else val.n)
    corrupt = build_corruption(cfg.corruption) if cfg.corruption else None
    result = fit(model, objective, train, val, cfg.train, device=device, run_dir=out,
                 corrupt=corrupt, callbacks=callbacks, resume_from=history)
    write_json(out / "train.json", {"best_epoch": result.best_epoch,
                                    "stopped_early": result.stopped_early,
                                    "n_train": train.n, "n_val": 0 if val is None else val.n})
    evaluate_run(out, splits=splits, model=model)
    return out


def resume_run(run_dir: str | Path, overrides: list[str] = (), **kwargs) -> Path:
    """Continue an interrupted (or finished) run, e.g. with ``train.epochs`` raised."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise DataError(f"cannot resume {str(run_dir)!r}: no config.json there. "
                        "Is it a run folder written by `aelab train`?")
    cfg = RunConfig.from_dict(json.loads((run_dir / "config.json").read_text())).replace(
        list(overrides))
    return train_run(cfg, run_dir, resume=True, **kwargs)


def load_run(run_dir: str | Path, device: str = "cpu") -> tuple[RunConfig, Autoencoder]:
    """The config and trained model of a run folder (model in eval mode on `device`)."""
    run_dir = Path(run_dir)
    for name in ("config.json", "model.safetensors"):
        if not (run_dir / name).is_file():
            raise DataError(f"{str(run_dir / name)!r} is missing: {str(run_dir)!r} is not a "
                            "finished run folder. Train one with `aelab train`.")
    cfg = RunConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    model = load_model(run_dir / "model.safetensors").to(resolve_device(device)).eval()
    return cfg, model


@torch.no_grad()
def reconstruct(model: Autoencoder, images: np.ndarray, *, batch_size: int = 512,
                device: torch.device | str = "cpu") -> np.ndarray:
    """Reconstructions in [0, 1] (float32, N x C x H x W) of uint8 `images`, in eval mode."""
    model.eval()
    out = [torch.sigmoid(model(x).x_logits).cpu()
           for x, _ in Batches(images, batch_size=batch_size, device=device)]
    return torch.cat(out).numpy() if out else np.zeros(images.shape, np.float32)


def evaluate_run(run_dir: str | Path, *, dataset: str | None = None, splits: Splits | None = None,
                 model: Autoencoder | None = None, progress=None) -> dict[str, float]:
    """Compute test metrics and figures for a run folder and rebuild its report.

    With `dataset`, evaluate on that dataset's test split instead (e.g. out-of-distribution)
    and write ``metrics-<dataset>.json`` and ``figures/reconstructions-<dataset>.png``.
    """
    run_dir = Path(run_dir)
    cfg, loaded = load_run(run_dir)
    model = model if model is not None else loaded
    device = next(model.parameters()).device
    if splits is None or dataset is not None:
        splits = prepare_data(cfg, progress=progress, dataset=dataset)
    if splits.data.image_shape != tuple(model.input_shape):
        raise DataError(f"the model expects images of shape {tuple(model.input_shape)}; "
                        f"dataset {splits.data.name!r} has {splits.data.image_shape}.")
    t0 = time.perf_counter()
    x_rec = reconstruct(model, splits.x_test, device=device)
    x = splits.x_test.astype(np.float32) / 255.0
    m = {f"test_{k}": v for k, v in metrics.reconstruction(x, x_rec).items()}
    m["eval_seconds"] = time.perf_counter() - t0
    history = read_history(run_dir / "history.csv") if (run_dir / "history.csv").exists() else []
    train_seconds = sum(r["seconds"] for r in history)
    n_train = len(splits.x_train)
    m |= {
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": train_seconds,
        "train_images_per_second": n_train * len(history) / train_seconds
        if train_seconds > 0 else math.nan,
        "epochs": len(history), "n_train": n_train, "n_test": len(splits.x_test),
        "dataset": splits.data.name,
    }
    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    suffix = "" if dataset is None else f"-{dataset}"
    figures.save_figure(figures.reconstruction_grid(x[:25], x_rec[:25]),
                        fig_dir / f"reconstructions{suffix}.png")
    if dataset is None and history:
        figures.save_figure(figures.loss_curves(history), fig_dir / "loss_curves.png")
    if cfg.corruption:  # a denoising/inpainting run: restored and corrupted vs clean
        from .restore import evaluate_restoration

        m |= evaluate_restoration(cfg, model, splits.x_test, fig_dir / f"restoration{suffix}.png")
    write_json(run_dir / f"metrics{suffix}.json", m)
    build_report(run_dir)
    return m
