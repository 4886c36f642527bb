import json

import numpy as np
import pytest

from aelab.cli import main
from aelab.cv import summarize

ARGS = ["--set", "data.limit=250", "--set", "train.epochs=1", "--set", "model.name=dense",
        "--set", "model.hidden=[16]", "--set", "model.latent_dim=4", "--set", "train.device=cpu"]


def test_cv_trains_one_run_per_fold_and_reports_mean_and_std(tmp_path, capsys):
    out = tmp_path / "cv"
    assert main(["cv", "--folds", "3", "--out", str(out), *ARGS]) == 0
    result = json.loads((out / "cv.json").read_text())
    recs = result["records"]
    assert [r["fold"] for r in recs] == [1, 2, 3]
    assert sum(r["n_test"] for r in recs) == 250                  # folds cover the pool
    assert all((out / f"fold-{k}" / "model.safetensors").is_file() for k in (1, 2, 3))
    mse = [r["test_mse"] for r in recs]
    assert result["summary"]["test_mse"]["mean"] == pytest.approx(np.mean(mse))
    assert result["summary"]["test_mse"]["std"] == pytest.approx(np.std(mse, ddof=1))
    printed = capsys.readouterr().out
    assert "test_mse" in printed and "mean" in printed and "std" in printed
    assert "data:image/png" not in (out / "report.html").read_text()  # tables only
    assert "Mean and spread over folds" in (out / "report.html").read_text()


def test_cv_refuses_to_overwrite_without_flag(tmp_path, capsys):
    out = tmp_path / "cv"
    out.mkdir()
    (out / "cv.json").write_text("{}")
    assert main(["cv", "--folds", "2", "--out", str(out), *ARGS]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_cv_too_many_folds_for_a_class_is_a_config_error(tmp_path, capsys):
    assert main(["cv", "--folds", "40", "--out", str(tmp_path), *ARGS[:2]]) == 2
    assert "n_folds" in capsys.readouterr().err


def test_summarize_skips_bookkeeping_and_non_numbers():
    recs = [{"fold": 1, "test_mse": 1.0, "n_test": 5, "dataset": "x"},
            {"fold": 2, "test_mse": 3.0, "n_test": 5, "dataset": "x"}]
    assert summarize(recs) == {"test_mse": {"mean": 2.0, "std": pytest.approx(2 ** 0.5),
                                            "min": 1.0, "max": 3.0}}
