"""Honest resume, in-process: what may change on resume takes effect and is recorded; a run
that stopped early stays stopped; a failed --overwrite puts the old run back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from aelab.cli import main
from aelab.errors import DataError
from aelab.report.html import read_history

TINY = ["configs/demo.toml", "--set", "data.limit=150", "--set", "data.test_limit=20",
        "--set", "model.channels=[4, 8]"]


def _sets(*items: str) -> list[str]:
    return [x for item in items for x in ("--set", item)]


@pytest.fixture
def two_epochs(tmp_path) -> Path:
    out = tmp_path / "run"
    assert main(["train", *TINY, *_sets("train.epochs=2"), "--out", str(out)]) == 0
    return out


def test_resume_new_epochs_and_lr_take_effect_and_are_recorded(two_epochs):
    assert main(["train", "--resume", str(two_epochs),
                 *_sets("train.epochs=4", "train.lr=5e-4")]) == 0
    history = read_history(two_epochs / "history.csv")
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert [r["lr"] for r in history] == [2e-3, 2e-3, 5e-4, 5e-4]
    jobs = json.loads((two_epochs / "train.json").read_text())["jobs"]
    assert [(j["from_epoch"], j["epochs"], j["lr"]) for j in jobs] == [(1, 2, 2e-3),
                                                                       (3, 4, 5e-4)]
    assert json.loads((two_epochs / "config.json").read_text())["train"]["lr"] == 5e-4


def test_resume_of_an_early_stopped_run_stays_stopped_unless_patience_rises(tmp_path):
    out = tmp_path / "run"
    # min_delta 1: no epoch after the first counts as an improvement.
    stop = _sets("train.epochs=6", "train.patience=1", "train.min_delta=1.0")
    assert main(["train", *TINY, *stop, "--out", str(out)]) == 0
    assert len(read_history(out / "history.csv")) == 2
    assert main(["train", "--resume", str(out)]) == 0
    assert len(read_history(out / "history.csv")) == 2
    assert main(["train", "--resume", str(out), *_sets("train.patience=3")]) == 0
    assert len(read_history(out / "history.csv")) == 4


def test_overwrite_that_fails_in_training_puts_the_old_run_back(two_epochs, capsys):
    before = {p.name: p.read_bytes() for p in two_epochs.iterdir() if p.is_file()}
    # Validates, then diverges in epoch 1 (a non-finite loss): nothing of it may remain.
    assert main(["train", *TINY, *_sets("train.lr=1e30"), "--out", str(two_epochs),
                 "--overwrite"]) == 1
    assert "non-finite" in capsys.readouterr().err
    after = {p.name: p.read_bytes() for p in two_epochs.iterdir() if p.is_file()}
    assert after == before
    assert not list(two_epochs.parent.glob(".run.old-*"))


def test_fit_resume_from_a_history_that_disagrees_with_the_checkpoint(two_epochs):
    from aelab.config import TrainConfig
    from aelab.losses import build_objective
    from aelab.models import load_model
    from aelab.runs import prepare_data, read_run_config
    from aelab.train import Batches, fit

    cfg = read_run_config(two_epochs / "config.json")
    model = load_model(two_epochs / "model.safetensors").train()
    x = prepare_data(cfg).x_train
    history = read_history(two_epochs / "history.csv")[:1]
    with pytest.raises(DataError, match="history given has 1 epochs but checkpoint"):
        fit(model, build_objective(cfg.loss, model), Batches(x, batch_size=64), None,
            TrainConfig(epochs=3), device=torch.device("cpu"), run_dir=two_epochs,
            resume_from=history)


def test_resume_compares_configs_as_saved_so_tuples_equal_lists(tmp_path):
    from aelab.config import RunConfig
    from aelab.runs import train_run

    def cfg(epochs):   # built in Python, as the studies do: hidden is a tuple
        return RunConfig.from_dict({"data": {"limit": 100, "test_limit": 20}, "train": {
            "epochs": epochs}, "model": {"name": "dense", "hidden": (16,), "latent_dim": 4}})

    out = train_run(cfg(1), tmp_path / "run")
    assert train_run(cfg(2), out, resume=True) == out
    assert len(read_history(out / "history.csv")) == 2
