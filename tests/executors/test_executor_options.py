"""Executor options: checked flags, the resources a Ray run gets, the message without Ray."""

from __future__ import annotations

import sys

import pytest

from aelab.cli import main
from aelab.errors import ConfigError
from aelab.executors import ExecutorOptions
from aelab.executors.ray import plan_resources


@pytest.mark.parametrize("flags, says", [
    (["--workers", "0"], "--workers: must be an integer >= 1; got 0"),
    (["--threads", "two"], "--threads: must be an integer >= 1; got 'two'"),
    (["--workers", "2"], "needs --executor ray"),
    (["--address", "auto"], "needs --executor ray"),
])
def test_study_rejects_bad_executor_flags(tmp_path, capsys, flags, says):
    assert main(["study", "quickstart", "--quick", "--out", str(tmp_path), *flags]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_executor_ray_without_ray_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)          # `import ray` now fails
    assert main(["study", "quickstart", "--quick", "--executor", "ray",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "error: --executor ray needs Ray, which is not installed here: pip install 'aelab[ray]'"]


def test_plan_resources_splits_cpus_or_gives_one_gpu_per_run():
    cpus = {"CPU": 2.0}
    assert plan_resources(cpus, 2, ExecutorOptions("ray", workers=2), 5) == (2, 1, False)
    assert plan_resources(cpus, 2, ExecutorOptions("ray"), 1) == (1, 2, False)   # one run
    assert plan_resources({"CPU": 16, "GPU": 4}, 16, ExecutorOptions("ray"), 8) == (4, 4, True)
    with pytest.raises(ConfigError, match="more than the CPUs of any node"):
        plan_resources({"CPU": 8}, 4, ExecutorOptions("ray", threads=6), 2)


def test_executor_options_reject_unknown_names_and_counts():
    with pytest.raises(ConfigError, match="not one of local, ray"):
        ExecutorOptions("dask")
    with pytest.raises(ConfigError, match="workers must be an integer >= 1; got 0"):
        ExecutorOptions("ray", workers=0)
