"""Every registered study, run twice with --quick in one process, writes the same records.

A study's results are the record lists of its result files and the ``metrics.json`` of every
run folder it trained; timings are left out of the comparison, everything else must be equal
to the last digit. The second run starts from a different global RNG state on purpose, so a
study that draws anything from torch's or NumPy's global RNG (instead of generators seeded
from its own seed) fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from aelab.studies import STUDIES, run_study

TIMING = re.compile(r"seconds|per_second")
# record lists kept beside "records" in some result files
RECORD_LISTS = ("records", "records_full_test", "baselines", "tried_at_smallest_size")
NEEDS_MIRROR = {"super-resolution"}      # quick version reads MNIST: no bundled stand-in


def without_timings(value):
    """`value` with every key that holds a duration or a rate removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if not TIMING.search(k)}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def study_results(out: Path) -> dict[str, object]:
    """The comparable results of a study folder: record lists of its result files and the
    metrics of each run folder, keyed by their path relative to `out`."""
    found: dict[str, object] = {}
    for path in sorted(out.glob("*.json")):
        data = json.loads(path.read_text())
        for key in RECORD_LISTS:
            if isinstance(data, dict) and key in data:
                found[f"{path.name}:{key}"] = without_timings(data[key])
    for path in sorted(out.rglob("metrics.json")):
        found[str(path.relative_to(out))] = without_timings(json.loads(path.read_text()))
    return found


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models train faster on one thread when the two cores are shared; the thread
    count is fixed for both runs, as reproducibility asks."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", STUDIES.names())
def test_quick_study_gives_the_same_records_twice(name, tmp_path, request, monkeypatch):
    if name in NEEDS_MIRROR:
        monkeypatch.setenv("AELAB_DATA", str(request.getfixturevalue("mirror")))
    runs = []
    with torch.random.fork_rng(devices=[]):
        for attempt in range(2):
            torch.manual_seed(1000 + attempt)       # a different global state before each run
            np.random.seed(1000 + attempt)
            out = tmp_path / f"run{attempt}"
            run_study(name, out_dir=out, quick=True)
            runs.append(study_results(out))
    first, second = runs
    assert first, f"study {name!r} wrote no result records or run metrics"
    assert first.keys() == second.keys()
    for key in first:
        assert first[key] == second[key], f"{name}: {key} differs between two runs"
