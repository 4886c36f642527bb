"""The local executor: one line per finished run, an overall bar, failures collected."""

from __future__ import annotations

import pytest
import torch
from executor_helpers import tiny

from aelab.executors import ExecutorOptions, RunsFailed, execute


def test_local_executor_reports_each_run_and_reuses_on_rerun(tmp_path, recorder):
    plan = [tiny("a"), tiny("bad", no_such_option=1)]
    before = torch.get_num_threads()
    with pytest.raises(RunsFailed, match="bad: ConfigError"):
        execute(plan, tmp_path, executor=ExecutorOptions("local", threads=1), progress=recorder)
    assert torch.get_num_threads() == before                 # threads restored afterwards
    assert recorder.totals == [2] and recorder.steps == 2
    assert recorder.lines[0].startswith("a: trained in ") and "test_mse=" in recorder.lines[0]
    assert recorder.lines[1].startswith("bad: FAILED after ")

    recorder.lines.clear()
    assert list(execute(plan[:1], tmp_path, progress=recorder)) == ["a"]
    assert recorder.lines[0].startswith("a: reused, test_mse=")
