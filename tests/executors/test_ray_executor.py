"""The ray executor on a real local Ray cluster: same results as the local executor, failures
reported by name, re-runs train only what is missing."""

from __future__ import annotations

import json

import pytest
from executor_helpers import tiny, without_timings

from aelab.executors import ExecutorOptions, RunsFailed, execute
from aelab.runs import load_run
from aelab.studies import run_study

RAY = ExecutorOptions("ray", workers=2, threads=1)


def test_ray_quickstart_records_equal_the_local_executor(ray_cluster, tmp_path):
    local = run_study("quickstart", quick=True, out_dir=tmp_path / "local",
                      executor=ExecutorOptions("local", threads=1)).parent
    remote = run_study("quickstart", quick=True, out_dir=tmp_path / "ray", executor=RAY).parent
    records = [without_timings(json.loads((d / "results.json").read_text())["records"])
               for d in (local, remote)]
    assert records[0] == records[1] and len(records[0]) == 2
    for name in ("dense", "conv"):
        folder = remote / "runs" / name
        cfg, model = load_run(folder)
        assert cfg.name == f"quickstart-{name}"
        assert without_timings(json.loads((folder / "metrics.json").read_text())) == \
            without_timings(json.loads((local / "runs" / name / "metrics.json").read_text()))


def test_ray_restoration_quick_records_equal_the_local_executor(ray_cluster, tmp_path):
    """The issue's case: the quick restoration study's 3 denoisers on 2 Ray workers."""
    out = {}
    for name, executor in (("local", ExecutorOptions("local", threads=1)), ("ray", RAY)):
        run_study("restoration", quick=True, out_dir=tmp_path / name, executor=executor)
        out[name] = json.loads((tmp_path / name / "results.json").read_text())
    for key in ("records", "records_full_test"):
        assert without_timings(out["local"][key]) == without_timings(out["ray"][key])
    folders = sorted(p for p in (tmp_path / "ray" / "runs").iterdir() if p.is_dir())
    assert [f.name for f in folders] == ["block-3", "gaussian-0.3", "gaussian-0.7",
                                         "gaussian-all"]
    for folder in folders:
        load_run(folder)


def test_ray_failed_run_is_named_others_finish_and_rerun_trains_only_it(ray_cluster, tmp_path,
                                                                        recorder):
    plan = [tiny("a"), tiny("bad", no_such_option=1), tiny("b", latent_dim=3)]
    with pytest.raises(RunsFailed) as failed:
        execute(plan, tmp_path, executor=RAY, progress=recorder)
    assert list(failed.value.failures) == ["bad"]
    assert "no_such_option" in failed.value.failures["bad"]
    assert any(line.startswith("bad: FAILED") for line in recorder.lines)
    assert recorder.steps == 3                                   # the others finished
    weights = {n: (tmp_path / n / "model.safetensors").stat().st_mtime_ns for n in ("a", "b")}

    recorder.lines.clear()
    plan[1] = tiny("bad")                                        # fixed
    folders = execute(plan, tmp_path, executor=RAY, progress=recorder)
    assert list(folders) == ["a", "bad", "b"]
    assert {n: (tmp_path / n / "model.safetensors").stat().st_mtime_ns for n in ("a", "b")} \
        == weights                                               # not trained again
    assert sorted(line.split(":")[0] + (" reused" if "reused" in line else "")
                  for line in recorder.lines) == ["a reused", "b reused", "bad"]
    load_run(folders["bad"])


def test_ray_run_whose_folder_cannot_be_written_names_shared_storage(ray_cluster, tmp_path):
    (tmp_path / "blocked").write_text("a file where the run folder should be")
    with pytest.raises(RunsFailed) as failed:
        execute([tiny("blocked")], tmp_path, executor=RAY)
    assert "storage every node sees" in failed.value.failures["blocked"]
