"""`aelab sweep` on the bundled digits: a 2x2 grid, locally and on Ray."""

from __future__ import annotations

import json
import re

import pytest
from executor_helpers import without_timings

from aelab.cli import main
from aelab.errors import ConfigError
from aelab.sweep import parse_grid, point_name

DEMO = "configs/demo.toml"
ARGS = ["--grid", "model.latent_dim=2,4", "--grid", "train.seed=0,1", "--set", "train.epochs=1",
        "--set", "data.limit=200", "--set", "data.test_limit=100", "--set", "train.device=cpu",
        "--threads", "1"]
POINTS = ["latent_dim=2,seed=0", "latent_dim=2,seed=1", "latent_dim=4,seed=0",
          "latent_dim=4,seed=1"]


def _sweep(out, *extra):
    assert main(["sweep", DEMO, *ARGS, "--out", str(out), *extra]) == 0
    return json.loads((out / "results.json").read_text())


def test_sweep_2x2_writes_one_run_per_point_results_and_report(tmp_path, capsys):
    result = _sweep(tmp_path / "local")
    assert [r["run"] for r in result["records"]] == POINTS
    assert [(r["model.latent_dim"], r["train.seed"]) for r in result["records"]] == \
        [(2, 0), (2, 1), (4, 0), (4, 1)]
    assert all(isinstance(r["test_mse"], float) for r in result["records"])
    assert {"command", "machine", "versions"} <= result.keys()
    assert "aelab sweep" in result["command"]
    assert all(json.loads((tmp_path / "local" / p / "config.json").read_text())["model"]
               ["latent_dim"] == int(p[11]) for p in POINTS)
    html = (tmp_path / "local" / "report.html").read_text()
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', html)) == 1
    assert all(p in html for p in POINTS)
    assert "latent_dim=4,seed=1  test_mse=" in capsys.readouterr().out


def test_sweep_on_ray_gives_the_local_records(ray_cluster, tmp_path):
    local = _sweep(tmp_path / "local")
    remote = _sweep(tmp_path / "ray", "--executor", "ray", "--workers", "2")
    assert without_timings(remote["records"]) == without_timings(local["records"])


@pytest.mark.parametrize("grid, says", [
    ("model.latent_dimm=2,4", "Did you mean 'latent_dim'"),     # a model option: checked by
    ("train.lrr=0.1", "Did you mean 'train.lr'"),               # building the model
    ("train.lr=0.1,fast", "train.lr must be a number; got 'fast'"),
])
def test_sweep_rejects_a_bad_key_or_value_before_anything_trains(tmp_path, capsys, grid, says):
    assert main(["sweep", DEMO, "--grid", "train.epochs=1", "--grid", grid,
                 "--out", str(tmp_path / "s")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_parse_grid_splits_at_commas_outside_brackets():
    assert parse_grid(["model.hidden=[64,32],[128]", "model.name=dense,conv"]) == \
        {"model.hidden": [[64, 32], [128]], "model.name": ["dense", "conv"]}
    with pytest.raises(ConfigError, match="given twice"):
        parse_grid(["train.seed=0", "train.seed=1"])
    with pytest.raises(ConfigError, match="empty value"):
        parse_grid(["train.seed=0,,1"])


def test_point_name_uses_the_whole_key_where_two_keys_end_alike():
    assert point_name({"model.latent_dim": 2, "train.seed": 0}) == "latent_dim=2,seed=0"
    assert point_name({"data.name": "digits", "model.name": "conv"}) == \
        "data.name=digits,model.name=conv"
