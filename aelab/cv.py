"""Stratified k-fold cross-validation of one run config: one run folder per fold, then every
metric per fold with its mean and standard deviation.

The pooled images (the training set, or the official test set with ``pool="test"``, the
protocol used for KMNIST here because its training images are not in the mirror) are dealt
into `folds` stratified folds (`aelab.data.stratified_kfold`). Fold k trains on the other
folds (minus ``data.val_fraction`` of them for validation, as in `aelab train`) and is tested
on fold k. Each fold is an ordinary run folder (config, weights, history, metrics, report)
under ``<out>/fold-<k>/``; ``<out>/cv.json`` and ``<out>/report.html`` hold the summary.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from .config import RunConfig
from .data import load_dataset, stratified_kfold, train_val_split
from .errors import ConfigError, DataError
from .losses import build_objective
from .models import create_model
from .report.page import write_html_page
from .runs import Splits, environment, evaluate_run
from .train import Batches, fit, resolve_device, seed_everything, write_json

log = logging.getLogger(__name__)

POOLS = ("train", "test")
# Bookkeeping columns of metrics.json that are not measurements of the model.
_NOT_METRICS = {"epochs", "n_train", "n_test", "parameters", "dataset"}


def cross_validate(cfg: RunConfig, out_dir: str | Path, *, folds: int = 5, pool: str = "train",
                   overwrite: bool = False, command: list[str] | None = None, progress=None,
                   callbacks=()) -> dict[str, Any]:
    """Train `cfg` once per stratified fold into ``out_dir/fold-<k>``; summarize.

    Parameters
    ----------
    cfg : RunConfig
        ``data.limit`` caps the pooled images (seeded subset), ``data.val_fraction`` is taken
        from each fold's training part, ``train.seed`` seeds the folds and the runs;
        ``data.test_limit`` does not apply (each fold is tested on all its images).
    folds : int
        Number of folds (2 to the size of the smallest class).
    pool : {"train", "test"}
        Which official split is dealt into folds.

    Returns
    -------
    dict
        What ``cv.json`` holds: ``records`` (one flat dict per fold) and ``summary``
        (``{metric: {"mean", "std", "min", "max"}}``, std with ddof=1 over folds).
    """
    if pool not in POOLS:
        raise ConfigError(f"pool must be one of {', '.join(POOLS)}; got {pool!r}.")
    out = Path(out_dir)
    if (out / "cv.json").exists() and not overwrite:
        raise ConfigError(f"{str(out)!r} already holds a cross-validation (cv.json). Pass "
                          "--overwrite to replace it, or choose another --out.")
    data = load_dataset(cfg.data.name, data_dir=cfg.data.data_dir, progress=progress,
                        **cfg.data.options)
    x, y = (data.x_train, data.y_train) if pool == "train" else (data.x_test, data.y_test)
    if len(x) == 0:
        raise DataError(f"dataset {cfg.data.name!r} has no {pool} images here; point AELAB_DATA "
                        f"at a folder that has them, or use --pool "
                        f"{'test' if pool == 'train' else 'train'}.")
    if cfg.data.limit is not None and cfg.data.limit < len(x):
        keep = np.sort(np.random.default_rng(cfg.train.seed).permutation(len(x))[:cfg.data.limit])
        x, y = x[keep], y[keep]
    records = []
    for k, (train_idx, test_idx) in enumerate(stratified_kfold(y, folds, cfg.train.seed)):
        log.info("fold %d/%d: %d train, %d test images", k + 1, folds, len(train_idx),
                 len(test_idx))
        m = _fold_run(cfg, out / f"fold-{k + 1}", data, x[train_idx], y[train_idx],
                      x[test_idx], y[test_idx], command, callbacks)
        records.append({"fold": k + 1, **m})
    result = {"config": cfg.to_dict(), "dataset": cfg.data.name, "pool": pool, "folds": folds,
              "seed": cfg.train.seed, "n_pooled": len(x), "command": command,
              "records": records, "summary": summarize(records)}
    write_json(out / "cv.json", result)
    _report(out, cfg, result)
    return result


def _fold_run(cfg, run_dir: Path, data, x_tr, y_tr, x_te, y_te, command, callbacks) -> dict:
    """One fold: the same steps as `aelab.runs.train_run`, on the fold's arrays."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("history.csv", "metrics.json", "best.safetensors", "optimizer.safetensors"):
        (run_dir / stale).unlink(missing_ok=True)
    device = resolve_device(cfg.train.device)
    write_json(run_dir / "config.json", cfg.to_dict())
    write_json(run_dir / "env.json", environment(cfg, device, command))
    seed_everything(cfg.train.seed)
    x_val = y_val = None
    if cfg.data.val_fraction > 0:
        tr, va = train_val_split(y_tr, cfg.data.val_fraction, seed=cfg.train.seed)
        x_tr, y_tr, x_val, y_val = x_tr[tr], y_tr[tr], x_tr[va], y_tr[va]
    model = create_model(cfg.model.name, input_shape=data.image_shape,
                         **cfg.model.kwargs).to(device)
    objective = build_objective(cfg.loss, model)
    bs = cfg.train.batch_size
    train = Batches(x_tr, batch_size=bs, device=device, shuffle=True, seed=cfg.train.seed)
    val = None if x_val is None else Batches(x_val, batch_size=max(bs, 512), device=device)
    corrupt = None
    if cfg.corruption:
        from .corruptions import build as build_corruption

        corrupt = build_corruption(cfg.corruption)
    result = fit(model, objective, train, val, cfg.train, device=device, run_dir=run_dir,
                 corrupt=corrupt, callbacks=callbacks)
    write_json(run_dir / "train.json", {"best_epoch": result.best_epoch,
                                        "stopped_early": result.stopped_early,
                                        "n_train": train.n, "n_val": 0 if val is None else val.n})
    splits = Splits(data, x_tr, y_tr, x_val, y_val, x_te, y_te)
    return evaluate_run(run_dir, splits=splits, model=model)


def summarize(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, sample standard deviation (ddof=1), min and max over folds of each numeric
    metric (bookkeeping columns such as ``n_test`` and ``fold`` left out)."""
    summary = {}
    for key in records[0] if records else ():
        values = [r.get(key) for r in records]
        if key == "fold" or key in _NOT_METRICS or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            continue
        a = np.asarray(values, dtype=float)
        summary[key] = {"mean": float(a.mean()),
                        "std": float(a.std(ddof=1)) if len(a) > 1 else math.nan,
                        "min": float(a.min()), "max": float(a.max())}
    return summary


def _report(out: Path, cfg: RunConfig, result: dict) -> Path:
    summary_rows = [{"metric": k, "mean": v["mean"], "std": v["std"], "min": v["min"],
                     "max": v["max"]} for k, v in result["summary"].items()]
    pooled = "official training set" if result["pool"] == "train" else "official test set"
    text = (f"{result['folds']} stratified folds of the {pooled} of {result['dataset']} "
            f"({result['n_pooled']} images, fold seed {result['seed']}); each fold trains on the "
            "others and is tested on itself. std is the sample standard deviation over folds "
            "(ddof=1). Each fold's run folder (fold-<k>/report.html) has its curves and "
            "reconstructions.")
    return write_html_page(out / "report.html", f"Cross-validation: {cfg.name}", [
        ("Protocol", [text]),
        ("Mean and spread over folds", [summary_rows]),
        ("Per fold", [result["records"]]),
    ], subtitle=f"model {cfg.model.name} \u00b7 dataset {result['dataset']} \u00b7 "
                f"{result['folds']} folds")


__all__ = ["POOLS", "cross_validate", "summarize"]
