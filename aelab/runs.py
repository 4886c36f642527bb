"""Run folders: config -> data -> model -> fit -> metrics -> figures -> report.

A run folder holds ``config.json`` and ``env.json`` (written once everything is checked,
before training), ``checkpoint.safetensors`` (weights, optimizer, history and loop state,
committed at each epoch's end in one rename) and its exports ``model.safetensors``,
``best.safetensors`` and ``history.csv``, then ``train.json``, ``metrics.json``,
``figures/*.png`` and ``report.html``. Every stage reads and writes
files, so any stage can be rerun alone: `evaluate_run` and `build_report` never retrain.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import _cpu
from .config import RunConfig
from .corruptions import build as build_corruption
from .data import (
    ImageData,
    binarize,
    load_dataset,
    per_class_subset,
    stratified_kfold,
    train_val_split,
)
from .errors import ConfigError, DataError
from .evaluate import metrics
from .files import folder_lock, read_json, remove_stale_temps
from .infer import reconstruct
from .losses import build_objective
from .models import Autoencoder, create_model, load_model
from .precision import resolve_precision
from .provenance import command_line, provenance
from .report import figures
from .report.html import build_report, read_history
from .train import Batches, Callback, fit, resolve_device, seed_everything, write_json
from .train.checkpoint import CHECKPOINT, Checkpoint, read_checkpoint
from .train.loggers import open_loggers

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
    ``data.pool`` split and tests on its own; ``data.train_split``, ``data.stratify`` and
    ``data.binarize`` set the protocol, and ``data.per_class`` keeps so many training
    images of each class before `limit`, as `aelab.config.DataConfig` describes.
    """
    name = dataset or cfg.data.name
    options = cfg.data.options if dataset is None else {}
    if cfg.data.train_split == "test" and dataset is None:
        options = {"splits": ("test",), **options}       # the training files may be missing
    data = load_dataset(name, data_dir=cfg.data.data_dir, progress=progress, **options)
    folded = cfg.data.folds is not None and dataset is None
    pool = cfg.data.pool if folded else cfg.data.train_split if dataset is None else "train"
    x, y = (data.x_test, data.y_test) if pool == "test" else (data.x_train, data.y_train)
    if len(x) == 0 and dataset is None:
        other = " or use --pool test" if folded and pool == "train" else ""
        raise DataError(f"dataset {name!r} has no {'test' if pool == 'test' else 'training'} "
                        f"images here; point AELAB_DATA at a "
                        f"folder that has them{other} or allow the download.")
    if cfg.data.per_class is not None:
        keep = per_class_subset(y, cfg.data.per_class, seed=cfg.train.seed)
        x, y = x[keep], y[keep]
    rng = np.random.default_rng(cfg.train.seed)
    if cfg.data.limit is not None and cfg.data.limit < len(x):
        keep = np.sort(rng.permutation(len(x))[: cfg.data.limit]) \
            if cfg.data.subset == "random" else slice(cfg.data.limit)
        x, y = x[keep], y[keep]
    if cfg.data.binarize:
        x = binarize(x, seed=cfg.train.seed)
    x_test, y_test = data.x_test, data.y_test
    if folded:
        train, test = stratified_kfold(y, cfg.data.folds, cfg.train.seed)[cfg.data.fold - 1]
        x, y, x_test, y_test = x[train], y[train], x[test], y[test]
    x_val = y_val = None
    if cfg.data.val_fraction > 0 and len(x) > 1:
        tr, va = train_val_split(y, cfg.data.val_fraction, seed=cfg.train.seed,
                                 stratify=cfg.data.stratify)
        x, y, x_val, y_val = x[tr], y[tr], x[va], y[va]
    if cfg.data.test_limit is not None:
        x_test, y_test = x_test[: cfg.data.test_limit], y_test[: cfg.data.test_limit]
    if cfg.data.binarize and not folded:     # a fold's test images come binarized from x
        x_test = binarize(x_test, seed=cfg.train.seed + 1)
    return Splits(data, np.asarray(x), np.asarray(y), x_val, y_val,
                  np.asarray(x_test), np.asarray(y_test))


def environment(cfg: RunConfig, device: torch.device, command: list[str] | None,
                precision: str = "fp32") -> dict:
    """A run's env.json: the provenance (command, machine, versions) and how it trains
    (`precision`: what train.precision resolved to, fp32 or bf16)."""
    line = command_line(command) if command is not None else None
    return provenance(line) | {
        "flush_denormal": _cpu.FLUSH_DENORMAL, "device": str(device), "seed": cfg.train.seed,
        "precision": precision,
        "started_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def train_run(cfg: RunConfig, out_dir: str | Path, *, command: list[str] | None = None,
              progress=None, callbacks=(), overwrite: bool = False,
              resume: bool = False) -> Path:
    """Train one run into `out_dir`, then evaluate it and write its report.

    Everything is checked before the folder is touched: the config, the data, the model,
    the loss, the corruption, the first batch through model and loss, and (on resume) the
    checkpoint and what may change. The folder is locked for the whole run (see
    `aelab.files.folder_lock`). With ``overwrite=True`` the old run is moved aside and deleted
    once the new run's first checkpoint exists (or put back if the new run fails first).

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

    Raises
    ------
    ConfigError, DataError
        Before anything is written: a bad config, data or checkpoint, a folder that holds
        a run (without `overwrite`/`resume`) or is in use by another process.
    """
    out = Path(out_dir)
    if overwrite and resume:
        raise ConfigError("--overwrite and --resume exclude each other: --resume continues "
                          "the run, --overwrite replaces it.")
    with _locked(out):
        return _train_locked(cfg, out, command=command, progress=progress,
                             callbacks=callbacks, overwrite=overwrite, resume=resume)


@contextlib.contextmanager
def _locked(out: Path):
    """Hold the run folder's lock; first repair what a killed ``--overwrite`` left."""
    with folder_lock(out):
        _recover_interrupted_overwrite(out)
        yield


def _train_locked(cfg: RunConfig, out: Path, *, command: list[str] | None = None,
                  progress=None, callbacks=(), overwrite: bool = False,
                  resume: bool = False) -> Path:
    ckpt = _checkpoint_for_resume(out, cfg) if resume else None
    if not resume:
        _check_replaceable(out, overwrite)
    device = resolve_device(cfg.train.device)
    seed_everything(cfg.train.seed)
    splits = prepare_data(cfg, progress=progress)
    model = create_model(cfg.model.name, input_shape=splits.data.image_shape,
                         **cfg.model.kwargs).to(device)
    objective = build_objective(cfg.loss, model)
    bs = cfg.train.batch_size
    train = Batches(splits.x_train, batch_size=bs, device=device, shuffle=True,
                    seed=cfg.train.seed)
    val = None if splits.x_val is None else Batches(splits.x_val, batch_size=max(bs, 512),
                                                    device=device)
    corrupt = build_corruption(cfg.corruption) if cfg.corruption else None
    jobs = [*(ckpt.run.get("jobs", []) if ckpt else []),
            {"from_epoch": (ckpt.epoch if ckpt else 0) + 1, "epochs": cfg.train.epochs,
             "lr": cfg.train.lr, "patience": cfg.train.patience,
             "command": command if command is not None else sys.argv}]
    precision = resolve_precision(cfg.train.precision, device, model, batch_size=bs)
    opener = _OpenRunFolder(out, cfg, device, command, replace=not resume, precision=precision)
    log.info("training %s on %s: %d train, %s val images", cfg.model.name, cfg.data.name,
             train.n, 0 if val is None else val.n)
    loggers = open_loggers(cfg, out, model, splits.x_test if splits.x_val is None
                           else splits.x_val, resume=resume)      # train.loggers
    try:
        # fit checks the checkpoint against the model and the first batch, then calls
        # opener.on_train_start: the first write to the folder (the loggers' come after it).
        result = fit(model, objective, train, val, cfg.train, device=device, run_dir=out,
                     corrupt=corrupt, callbacks=[opener, *callbacks, *loggers],
                     resume_from=ckpt, run_meta={"config": cfg.to_dict(), "jobs": jobs})
    except BaseException:
        for logger in loggers:
            logger.on_failure()
        opener.undo()
        raise
    opener.finish()
    write_json(out / "train.json", {"best_epoch": result.best_epoch,
                                    "stopped_early": result.stopped_early,
                                    "n_train": train.n, "n_val": 0 if val is None else val.n,
                                    "jobs": jobs})
    m = evaluate_run(out, splits=splits, model=model)
    for logger in loggers:
        logger.on_run_end(m)
    return out


RUN_FILES = ("config.json", "model.safetensors", CHECKPOINT, "history.csv", "metrics.json")
# What may differ between a checkpoint's config and the config it is resumed with.
RESUMABLE_KEYS = ("train.epochs", "train.lr", "train.patience")


def _holds_run(out: Path) -> bool:
    return any((out / name).exists() for name in RUN_FILES)


def _check_replaceable(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a file, not a folder; choose another --out.")
    if _holds_run(out) and not overwrite:
        raise ConfigError(f"run folder {str(out)!r} already holds a run. Pass --resume {out} to "
                          "continue it, --overwrite to replace it, or choose another --out.")
    if overwrite and out.is_dir() and any(out.iterdir()) and not (out / "config.json").is_file():
        raise ConfigError(f"--overwrite replaces run folders only, and {str(out)!r} holds other "
                          "files (no config.json); choose another --out.")


def _aside_folders(out: Path) -> list[Path]:
    return sorted(out.absolute().parent.glob(f".{out.name}.old-*"))


def _recover_interrupted_overwrite(out: Path) -> None:
    """A killed ``--overwrite`` leaves the old run at ``.<name>.old-<pid>``: delete it if the
    new run has a checkpoint, else put it back (the new run never got past its start)."""
    for aside in _aside_folders(out):
        if (out / CHECKPOINT).is_file():
            shutil.rmtree(aside)
        else:
            if out.exists():
                shutil.rmtree(out)
            os.replace(aside, out)
            log.warning("put back the run in %s that an interrupted --overwrite had moved "
                        "aside", out)


class _OpenRunFolder(Callback):
    """The first writes into a run folder, made only once fit has checked its inputs: move an
    old run aside (``replace``), create the folder, remove stale temporaries, write
    config.json and env.json. `finish` deletes the old run; `undo` restores it."""

    def __init__(self, out: Path, cfg: RunConfig, device, command, *, replace: bool,
                 precision: str = "fp32"):
        self.out, self.cfg, self.device, self.command, self.replace = (
            out, cfg, device, command, replace)
        self.precision = precision
        self.aside: Path | None = None
        self.created = False

    def on_train_start(self, epochs: int, steps_per_epoch: int, start_epoch: int) -> None:
        out = self.out
        if self.replace and out.is_dir() and any(out.iterdir()):
            self.aside = out.absolute().parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, self.aside)
        self.created = not out.exists()
        out.mkdir(parents=True, exist_ok=True)
        for stale in remove_stale_temps(out):
            log.info("removed %s, left by an interrupted write", stale)
        write_json(out / "config.json", self.cfg.to_dict())
        write_json(out / "env.json", environment(self.cfg, self.device, self.command,
                                                     self.precision))

    def on_epoch_end(self, row: dict[str, float]) -> None:
        self.finish()          # the new run's first checkpoint exists: the old one can go

    def finish(self) -> None:
        if self.aside is not None:
            shutil.rmtree(self.aside)
            self.aside = None
        self.created = False

    def undo(self) -> None:
        if self.aside is not None:
            shutil.rmtree(self.out, ignore_errors=True)
            os.replace(self.aside, self.out)
            self.aside = None
        elif self.created and not (self.out / CHECKPOINT).exists():
            shutil.rmtree(self.out, ignore_errors=True)


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v and k not in ("options", "prior_options"):
            out |= _flat(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def _checkpoint_for_resume(out: Path, cfg: RunConfig) -> Checkpoint:
    """The checkpoint of `out`, checked against `cfg` and the folder's history.csv."""
    path = out / CHECKPOINT
    if not path.is_file():
        what = ("it was written by an older aelab (optimizer.safetensors, no checkpoint)"
                if (out / "optimizer.safetensors").is_file() else
                "it never finished an epoch" if out.is_dir() else "it does not exist")
        raise DataError(f"cannot resume {str(out)!r}: it has no {CHECKPOINT} ({what}). "
                        "`aelab evaluate` and `aelab report` still read a finished run; to "
                        "train again use --overwrite or another --out.")
    ckpt = read_checkpoint(path)
    saved = _flat(ckpt.run.get("config", {}))
    given = _flat(json.loads(json.dumps(cfg.to_dict())))   # tuples as lists, as saved
    for key in sorted(set(saved) | set(given)):
        if key not in RESUMABLE_KEYS and saved.get(key) != given.get(key):
            raise ConfigError(
                f"cannot resume {str(out)!r} with {key} = {given.get(key)!r}: the run was "
                f"trained with {key} = {saved.get(key)!r} (config.json edited, or --set). Only "
                f"{', '.join(RESUMABLE_KEYS)} can change on resume; train a new run instead "
                "(--overwrite or another --out).")
    history = out / "history.csv"
    if history.is_file():
        n = len(read_history(history))
        if n not in (ckpt.epoch, ckpt.epoch - 1):   # one behind: killed while exporting
            raise DataError(
                f"cannot resume {str(out)!r}: {history} has {n} epochs but {CHECKPOINT} has "
                f"{ckpt.epoch}; the files disagree (history.csv edited or copied). Delete "
                "history.csv to rebuild it from the checkpoint, or start a new run.")
    return ckpt


def resume_run(run_dir: str | Path, overrides: list[str] = (), **kwargs) -> Path:
    """Continue an interrupted (or finished) run, e.g. with ``train.epochs`` raised.

    Only ``train.epochs``, ``train.lr`` and ``train.patience`` may change; they apply from
    the next epoch (the history's ``lr`` column and ``train.json``'s ``jobs`` record them).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise DataError(f"cannot resume {str(run_dir)!r}: no config.json there. "
                        "Is it a run folder written by `aelab train`?")
    with _locked(run_dir):     # config.json is read under the lock, after any repair
        cfg = read_run_config(run_dir / "config.json").replace(list(overrides))
        return _train_locked(cfg, run_dir, resume=True, **kwargs)


def read_run_config(path: str | Path) -> RunConfig:
    """The RunConfig in a run folder's config.json; errors name the file."""
    try:
        return RunConfig.from_dict(read_json(path, "run config"))
    except ConfigError as e:
        raise ConfigError(f"run config {str(path)!r}: {e}") from e


def load_run(run_dir: str | Path, device: str | torch.device = "cpu"
             ) -> tuple[RunConfig, Autoencoder]:
    """The config and trained model of a run folder (model in eval mode on `device`: a
    torch.device, or a name as train.device takes).

    Raises
    ------
    DataError
        If a file is missing or unreadable, or config.json's model differs from the one in
        model.safetensors (the message names the key).
    """
    run_dir = Path(run_dir)
    for name in ("config.json", "model.safetensors"):
        if not (run_dir / name).is_file():
            raise DataError(f"{str(run_dir / name)!r} is missing: {str(run_dir)!r} is not a "
                            "finished run folder. Train one with `aelab train`.")
    cfg = read_run_config(run_dir / "config.json")
    device = device if isinstance(device, torch.device) else resolve_device(device, "device")
    model = load_model(run_dir / "model.safetensors").to(device).eval()
    spec = model.spec
    for key, value in {"name": cfg.model.name, **cfg.model.kwargs}.items():
        held = spec["name"] if key == "name" else spec["kwargs"].get(key)
        if json.loads(json.dumps(value)) != json.loads(json.dumps(held)):
            raise DataError(f"{str(run_dir / 'config.json')!r} says model.{key} = {value!r} but "
                            f"model.safetensors holds a model with {key} = {held!r}; config.json "
                            "was edited after training. Restore it, or train a new run.")
    return cfg, model


def evaluate_run(run_dir: str | Path, *, dataset: str | None = None, splits: Splits | None = None,
                 model: Autoencoder | None = None, progress=None,
                 device: torch.device | str = "cpu", precision: str = "fp32"
                 ) -> dict[str, float]:
    """Compute test metrics and figures for a run folder and rebuild its report.

    With `dataset`, evaluate on that dataset's test split instead (e.g. out-of-distribution)
    and write ``metrics-<dataset>.json`` and ``figures/reconstructions-<dataset>.png``.
    The model runs on `device` (unless `model` is given: then on its own) at `precision`
    (fp32 or bf16; a bf16 evaluation says so in the metrics, ``eval_precision``).
    """
    run_dir = Path(run_dir)
    if model is None:
        cfg, model = load_run(run_dir, device)
    else:                               # the caller's model: read the config, not the weights
        cfg = read_run_config(run_dir / "config.json")
    device = next(model.parameters()).device
    if splits is None or dataset is not None:
        splits = prepare_data(cfg, progress=progress, dataset=dataset)
    if splits.data.image_shape != tuple(model.input_shape):
        raise DataError(f"the model expects images of shape {tuple(model.input_shape)}; "
                        f"dataset {splits.data.name!r} has {splits.data.image_shape}.")
    t0 = time.perf_counter()
    x_rec = reconstruct(model, splits.x_test, precision=precision)
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
    if precision != "fp32":
        m["eval_precision"] = precision
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
