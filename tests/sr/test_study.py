"""The super-resolution study runs end to end (quick, on digits) and writes its table."""

from __future__ import annotations

import json

from aelab.studies import run_study


def test_super_resolution_study_quick_writes_records(tmp_path):
    report = run_study("super-resolution", out_dir=tmp_path, quick=True, dataset="digits",
                       options={"scales": [2]})
    records = json.loads((tmp_path / "results.json").read_text())["records"]
    methods = {(r["scale"], r["method"]) for r in records}
    assert methods == {(1, "original"), (2, "bicubic"), (2, "espcn"), (2, "conv_ae")}
    assert all(0 <= r["accuracy"] <= 1 for r in records)
    assert report.is_file()
