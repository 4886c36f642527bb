"""`aelab cv` through the executors: each fold a plain RunConfig that any worker can train."""

from __future__ import annotations

import json

import pytest
from executor_helpers import without_timings

from aelab.cli import main
from aelab.config import RunConfig
from aelab.cv import plan_folds
from aelab.errors import ConfigError
from aelab.runs import evaluate_run

ARGS = ["--set", "data.limit=200", "--set", "train.epochs=1", "--set", "model.name=dense",
        "--set", "model.hidden=[16]", "--set", "model.latent_dim=4", "--set", "train.device=cpu",
        "--threads", "1"]


def _cv(out, *extra):
    assert main(["cv", "--folds", "2", "--out", str(out), *ARGS, *extra]) == 0
    return json.loads((out / "cv.json").read_text())


def test_cv_fold_config_alone_reproduces_the_fold(tmp_path):
    result = _cv(tmp_path / "cv")
    fold = tmp_path / "cv" / "fold-2"
    cfg = RunConfig.from_dict(json.loads((fold / "config.json").read_text()))
    assert (cfg.data.folds, cfg.data.fold, cfg.data.pool) == (2, 2, "train")
    again = evaluate_run(fold)                     # data from the config: the same test fold
    assert again["test_mse"] == result["records"][1]["test_mse"]
    assert again["n_test"] == result["records"][1]["n_test"] == 100


def test_cv_on_ray_gives_the_local_records(ray_cluster, tmp_path):
    local = _cv(tmp_path / "local")
    remote = _cv(tmp_path / "ray", "--executor", "ray", "--workers", "2")
    assert without_timings(remote["records"]) == without_timings(local["records"])
    assert remote["summary"]["test_mse"] == local["summary"]["test_mse"]


def test_plan_folds_drops_test_limit_and_validates_the_fold_keys():
    cfg = RunConfig.from_dict({"data": {"test_limit": 50}})
    planned = plan_folds(cfg, 3, "test")
    assert [p.name for p in planned] == ["fold-1", "fold-2", "fold-3"]
    assert [(p.config.data.fold, p.config.data.test_limit) for p in planned] == \
        [(1, None), (2, None), (3, None)]
    for data, says in [({"fold": 1}, "go together"), ({"folds": 2, "fold": 3}, "data.fold must"),
                       ({"pool": "test"}, "needs data.folds"),
                       ({"folds": 2, "fold": 1, "test_limit": 5}, "test_limit does not apply")]:
        with pytest.raises(ConfigError, match=says):
            RunConfig.from_dict({"data": data})


def test_run_config_without_folds_keeps_its_old_keys():
    """Runs that are not folds write the config.json they wrote before the fold keys existed,
    so the reuse rule still recognises their finished folders."""
    assert set(RunConfig().to_dict()["data"]) == {"name", "limit", "test_limit", "val_fraction",
                                                  "data_dir", "options"}
