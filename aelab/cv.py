"""Stratified k-fold cross-validation of one run config: one run folder per fold, then every
metric per fold with its mean and standard deviation.

The pooled images (the training set, or the official test set with ``pool="test"``, the
protocol used for KMNIST here because its training images are not in the mirror) are dealt
into `folds` stratified folds (`aelab.data.stratified_kfold`). Fold k trains on the other
folds (minus ``data.val_fraction`` of them for validation, as in `aelab train`) and is tested
on fold k. Each fold is a plain `RunConfig` (``data.folds``, ``data.fold``, ``data.pool``:
`aelab.runs.prepare_data` deals the folds), so any executor can train it from its config
alone; each is an ordinary run folder (config, weights, history, metrics, report) under
``<out>/fold-<k>/``, reused when a later cross-validation asks for the same config;
``<out>/cv.json`` and ``<out>/report.html`` hold the summary.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .config import RunConfig
from .errors import ConfigError
from .executors import PlannedRun, execute
from .report.page import write_html_page
from .runs import prepare_data
from .train import write_json

# Bookkeeping columns of metrics.json that are not measurements of the model.
_NOT_METRICS = {"epochs", "n_train", "n_test", "parameters", "dataset"}


def plan_folds(cfg: RunConfig, folds: int, pool: str = "train") -> list[PlannedRun]:
    """One planned run ``fold-<k>`` per fold: `cfg` with ``data.folds``, ``data.fold`` and
    ``data.pool`` set (and ``data.test_limit`` dropped: a fold is tested on all its images)."""
    d = cfg.to_dict()
    return [PlannedRun(f"fold-{k}", RunConfig.from_dict({**d, "data": {
        **d["data"], "folds": folds, "fold": k, "pool": pool, "test_limit": None}}))
        for k in range(1, folds + 1)]


def cross_validate(cfg: RunConfig, out_dir: str | Path, *, folds: int = 5, pool: str = "train",
                   overwrite: bool = False, command: list[str] | None = None, progress=None,
                   callbacks=(), executor="local") -> dict[str, Any]:
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
    overwrite : bool
        Replace the cv.json and report of an earlier cross-validation in `out_dir` (its fold
        folders follow the reuse rule: a finished fold with the same config is kept).
    executor : str or aelab.executors.ExecutorOptions
        Where the folds train (``"local"``, ``"ray"``); see `aelab.executors.execute`.

    Returns
    -------
    dict
        What ``cv.json`` holds: ``records`` (one flat dict per fold) and ``summary``
        (``{metric: {"mean", "std", "min", "max"}}``, std with ddof=1 over folds).
    """
    out = Path(out_dir)
    if (out / "cv.json").exists() and not overwrite:
        raise ConfigError(f"{str(out)!r} already holds a cross-validation (cv.json). Pass "
                          "--overwrite to replace it, or choose another --out.")
    planned = plan_folds(cfg, folds, pool)
    # Fold 1's data on the driver: checks the pool and the fold count before anything trains.
    first = prepare_data(planned[0].config, progress=progress)
    n_pooled = sum(len(a) for a in (first.x_train, first.x_val, first.x_test) if a is not None)
    runs = execute(planned, out, executor=executor, progress=progress, callbacks=callbacks,
                   command=command)
    records = [{"fold": k, **json.loads((runs[p.name] / "metrics.json").read_text())}
               for k, p in enumerate(planned, start=1)]
    result = {"config": cfg.to_dict(), "dataset": cfg.data.name, "pool": pool, "folds": folds,
              "seed": cfg.train.seed, "n_pooled": n_pooled, "command": command,
              "records": records, "summary": summarize(records)}
    write_json(out / "cv.json", result)
    _report(out, cfg, result)
    return result


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


__all__ = ["cross_validate", "plan_folds", "summarize"]
