"""The one run-reuse rule of the executors: reuse, extend, resume or train."""

from __future__ import annotations

import json

import pytest

from aelab.config import RunConfig
from aelab.errors import ConfigError
from aelab.executors import PlannedRun, RunsFailed, execute, reuse_state

BASE = {"name": "x", "data": {"name": "digits", "limit": 100, "test_limit": 20},
        "model": {"name": "dense", "latent_dim": 4, "hidden": [16]},
        "train": {"epochs": 1, "batch_size": 32}}


def _planned(**train) -> PlannedRun:
    return PlannedRun("x", RunConfig.from_dict({**BASE, "train": {**BASE["train"], **train}}))


def _stamp(folder):
    return (folder / "model.safetensors").stat().st_mtime_ns


def test_reuse_extend_resume_and_train(tmp_path):
    folder = execute([_planned()], tmp_path)["x"]
    assert reuse_state(_planned(), folder) == "reuse"
    assert reuse_state(_planned(epochs=3), folder) == "extend"
    assert reuse_state(_planned(lr=1e-2), folder) == "train"
    stamp = _stamp(folder)
    execute([_planned()], tmp_path)
    assert _stamp(folder) == stamp                                  # reused, not retrained
    execute([_planned(epochs=2)], tmp_path)                         # extended by one epoch
    assert len((folder / "history.csv").read_text().splitlines()) == 1 + 2
    (folder / "metrics.json").unlink()                              # as if killed at the end
    assert reuse_state(_planned(epochs=2), folder) == "resume"
    (folder / "history.csv").unlink()
    assert reuse_state(_planned(epochs=2), folder) == "train"


def test_a_failed_run_is_named_and_the_others_finish(tmp_path):
    bad = PlannedRun("bad", RunConfig.from_dict({**BASE, "data": {"name": "image_folder",
                                                                    "options": {"path": "/no"}}}))
    with pytest.raises(RunsFailed, match=r"1 run\(s\) failed.*\n  bad: ") as e:
        execute([bad, _planned()], tmp_path)
    assert list(e.value.failures) == ["bad"]
    assert json.loads((tmp_path / "x" / "metrics.json").read_text())["epochs"] == 1


def test_planned_names_are_plain_and_unique(tmp_path):
    with pytest.raises(ConfigError, match="plain folder name"):
        PlannedRun("../x", _planned().config)
    with pytest.raises(ConfigError, match="share the folder name 'x'"):
        execute([_planned(), _planned()], tmp_path)


def test_a_run_written_before_a_key_existed_is_reused(tmp_path):
    """config.json of an older run lacks keys added since (train.precision here): they
    compare at their defaults, so the run is reused, not retrained."""
    folder = execute([_planned()], tmp_path)["x"]
    saved = json.loads((folder / "config.json").read_text())
    del saved["train"]["precision"]
    (folder / "config.json").write_text(json.dumps(saved))
    assert reuse_state(_planned(), folder) == "reuse"
    assert reuse_state(_planned(precision="bf16"), folder) == "train"
    (folder / "config.json").write_text("{not json")
    assert reuse_state(_planned(), folder) == "train"
