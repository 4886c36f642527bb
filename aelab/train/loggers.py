"""Experiment tracking: TensorBoard and MLflow, as callbacks of the training loop.

``train.loggers = ["tensorboard", "mlflow"]`` in a run config turns them on (the ``tracking``
extra: ``pip install 'aelab[tracking]'``); `open_loggers` builds them before training, so a
missing package fails at once with a one-line message naming the extra.

- **tensorboard** writes event files to ``<run>/tensorboard/``: every number of each epoch's
  history row (``loss/train_total``, ``loss/val_recon``, ... and ``lr``, ``seconds``), a grid
  of reconstructions of 16 held-out images per epoch (``reconstructions``, top row inputs),
  and, once the run is evaluated, the config as hparams with the test metrics
  (``hparam/test_mse`` ...). Look with ``tensorboard --logdir runs/``.
- **mlflow** logs the flattened config as params (``model.latent_dim``), each epoch's numbers
  as metrics with the epoch as step, the test metrics, and finally the whole run folder as
  artifacts, to ``train.tracking_uri``, in the experiment ``aelab``, under the run's config
  name. The default is a local store in ``./mlruns``: the database ``mlruns/mlflow.db`` and
  the artifacts in ``mlruns/artifacts``. (Not MLflow's plain-file ``./mlruns`` store: MLflow
  3 refuses it unless ``MLFLOW_ALLOW_FILE_STORE=true`` is set, and a library must not set
  environment variables. Set that variable and ``tracking_uri = "file:./mlruns"`` to use it
  anyway.) Look with ``mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db`` (or the URI
  you gave).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from ..config import RunConfig
from ..extras import require
from .step import Callback

EXPERIMENT = "aelab"
DEFAULT_STORE = "mlruns"          # under the working directory, as MLflow's own default
N_IMAGES = 16


class Logger(Callback):
    """A training callback that also hears about the evaluated run and a failed one."""

    def on_run_end(self, metrics: dict) -> None: ...
    def on_failure(self) -> None: ...


def _numbers(d: dict) -> dict[str, float]:
    return {k: float(v) for k, v in d.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}


def _flat_config(cfg: RunConfig) -> dict[str, str | int | float | bool]:
    """``section.key`` -> value; lists, tables and None as JSON text."""
    out = {}
    for section, values in cfg.to_dict().items():
        if not isinstance(values, dict):
            values = {"": values}
        for key, value in values.items():
            name = f"{section}.{key}" if key else section
            plain = isinstance(value, str | int | float | bool)
            out[name] = value if plain else json.dumps(value)
    return out


class TensorBoardLogger(Logger):
    """Event files in ``<run_dir>/tensorboard``; see the module docstring."""

    def __init__(self, run_dir: Path, cfg: RunConfig, model: torch.nn.Module,
                 images: np.ndarray, *, resume: bool):
        require("tensorboard", "tracking", "train.loggers = ['tensorboard']")
        self.log_dir, self.resume = Path(run_dir) / "tensorboard", resume
        self.writer = None
        self.cfg, self.model = cfg, model
        device = next(model.parameters()).device
        self.x = torch.from_numpy(images[:N_IMAGES]).to(device).float() / 255.0
        self.epoch = 0

    def on_train_start(self, epochs: int, steps_per_epoch: int, start_epoch: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # Nothing is written before training starts (the run folder may not exist yet).
        if not self.resume:                # a fresh run: no curves of the run it replaces
            shutil.rmtree(self.log_dir, ignore_errors=True)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def on_epoch_end(self, row: dict[str, float]) -> None:
        self.epoch = int(row["epoch"])
        for key, value in _numbers(row).items():
            if key != "epoch":
                tag = key if key in ("lr", "seconds") else f"loss/{key}"
                self.writer.add_scalar(tag, value, self.epoch)
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            x_rec = torch.sigmoid(self.model(self.x).x_logits)
        self.model.train(was_training)
        # One image: inputs on the top row, reconstructions below, N_IMAGES columns.
        grid = torch.cat([torch.cat(list(self.x), dim=-1), torch.cat(list(x_rec), dim=-1)], 1)
        self.writer.add_image("reconstructions", grid.clamp(0, 1).cpu(), self.epoch)
        self.writer.flush()

    def on_run_end(self, metrics: dict) -> None:
        # run_name="." keeps the hparams with the curves (torch would make a subfolder).
        self.writer.add_hparams(_flat_config(self.cfg),
                                {f"hparam/{k}": v for k, v in _numbers(metrics).items()},
                                run_name=".", global_step=self.epoch)
        self.writer.close()

    def on_failure(self) -> None:
        if self.writer is not None:
            self.writer.close()


class MLflowLogger(Logger):
    """One MLflow run per training; see the module docstring."""

    def __init__(self, run_dir: Path, cfg: RunConfig):
        require("mlflow", "tracking", "train.loggers = ['mlflow']")
        from mlflow.tracking import MlflowClient

        self.run_dir, self.cfg = Path(run_dir), cfg
        self.uri, self.artifacts = cfg.train.tracking_uri, None
        if self.uri is None:
            store = Path.cwd() / DEFAULT_STORE
            store.mkdir(exist_ok=True)
            self.uri = f"sqlite:///{store / 'mlflow.db'}"
            self.artifacts = (store / "artifacts").as_uri()
        self.client = MlflowClient(tracking_uri=self.uri)
        self.run_id: str | None = None

    def on_train_start(self, epochs: int, steps_per_epoch: int, start_epoch: int) -> None:
        from mlflow.entities import Param

        found = self.client.get_experiment_by_name(EXPERIMENT)
        experiment = found.experiment_id if found else self.client.create_experiment(
            EXPERIMENT, artifact_location=self.artifacts)
        run = self.client.create_run(experiment, run_name=self.cfg.name,
                                     tags={"aelab.run_dir": str(self.run_dir.resolve()),
                                           "aelab.start_epoch": str(start_epoch)})
        self.run_id = run.info.run_id
        params = [Param(k, str(v)) for k, v in _flat_config(self.cfg).items()]
        for start in range(0, len(params), 100):    # MLflow takes at most 100 params a call
            self.client.log_batch(self.run_id, params=params[start:start + 100])

    def on_epoch_end(self, row: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(1000 * time.time())
        step = int(row["epoch"])
        metrics = [Metric(k, v, now, step) for k, v in _numbers(row).items() if k != "epoch"]
        self.client.log_batch(self.run_id, metrics=metrics)

    def on_run_end(self, metrics: dict) -> None:
        from mlflow.entities import Metric

        now = int(1000 * time.time())
        self.client.log_batch(self.run_id, metrics=[
            Metric(k, v, now, 0) for k, v in _numbers(metrics).items()])
        self.client.log_artifacts(self.run_id, str(self.run_dir))
        self.client.set_terminated(self.run_id, "FINISHED")

    def on_failure(self) -> None:
        if self.run_id is not None:
            self.client.set_terminated(self.run_id, "FAILED")


def open_loggers(cfg: RunConfig, run_dir: str | Path, model: torch.nn.Module,
                 images: np.ndarray, *, resume: bool = False) -> list[Logger]:
    """The loggers ``cfg.train.loggers`` asks for, ready to pass to `fit` as callbacks.

    `images` (uint8, N x C x H x W) are the held-out images whose reconstructions TensorBoard
    shows. Raises ConfigError naming ``pip install 'aelab[tracking]'`` when a package is
    missing.
    """
    run_dir = Path(run_dir)
    build = {"tensorboard": lambda: TensorBoardLogger(run_dir, cfg, model, images,
                                                      resume=resume),
             "mlflow": lambda: MLflowLogger(run_dir, cfg)}
    return [build[name]() for name in cfg.train.loggers]
