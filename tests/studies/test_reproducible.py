"""Every registered study, run twice with --quick in one process, writes the same records, and
(where the machine matches the one they were captured on) the golden records.

A study's results are the record lists of its result files and the ``metrics.json`` of every
run folder it trained; timings are left out, everything else must be equal to the last digit.
The second run starts from a different global RNG state on purpose, so a study that draws
anything from torch's or NumPy's global RNG (instead of generators seeded from its own seed)
fails here. See ``golden_records.py`` for how the golden files are captured.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from golden_records import (
    MOVED,
    NEEDS_MIRROR,
    canonical,
    captures,
    fingerprint,
    golden_for_this_machine,
    golden_path,
    run_quick,
)

from aelab.studies import STUDIES

FIRST_RUN: dict[str, dict] = {}     # study -> results of its first run, for the golden test


@pytest.fixture
def study_data(request, monkeypatch):
    """Point AELAB_DATA at the mirror for the studies whose quick version needs it."""
    def setup(name: str) -> None:
        if name in NEEDS_MIRROR:
            monkeypatch.setenv("AELAB_DATA", str(request.getfixturevalue("mirror")))
    return setup


@pytest.mark.parametrize("name", STUDIES.names())
def test_quick_study_gives_the_same_records_twice(name, tmp_path, study_data):
    study_data(name)
    runs = []
    with torch.random.fork_rng(devices=[]):
        for attempt in range(2):
            torch.manual_seed(1000 + attempt)       # a different global state before each run
            np.random.seed(1000 + attempt)
            runs.append(canonical(run_quick(name, tmp_path / f"run{attempt}")))
    first, second = runs
    FIRST_RUN[name] = first
    assert first, f"study {name!r} wrote no result records or run metrics"
    assert first.keys() == second.keys()
    for key in first:
        assert first[key] == second[key], f"{name}: {key} differs between two runs"


@pytest.mark.parametrize("name", STUDIES.names())
def test_quick_study_reproduces_its_golden_records(name, tmp_path, study_data):
    if not golden_path(name).is_file():
        pytest.fail(f"no golden records for study {name!r}: capture them with "
                    f"`python tests/studies/golden_records.py {name}`")
    golden = golden_for_this_machine(name)
    if golden is None:
        seen = [c["fingerprint"] for c in captures(name)]
        pytest.skip(f"golden records of {name!r} were captured on {seen}; this machine is "
                    f"{fingerprint()}, where the last digits may differ")
    study_data(name)
    results = FIRST_RUN.get(name) or canonical(run_quick(name, tmp_path / "run"))
    expected = canonical(golden)
    for key, value in expected.items():
        # a study on the recipe writes its record lists to results.json, whatever the file's
        # old name (or under the key MOVED names); new result files may be added
        now = key if key in results else MOVED.get(key, "results.json:" + key.split(":", 1)[1])
        assert now in results, f"{name}: no longer writes {key}"
        assert results[now] == value, f"{name}: {key} differs from the golden records"
