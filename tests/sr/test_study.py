"""The super-resolution study runs end to end (quick, on digits) and writes its table."""

from __future__ import annotations

import json

from aelab.studies import run_study


class _Bar:
    """Stands in for the CLI's tqdm factory and remembers what the study told it."""

    def __init__(self, total, desc):
        self.total, self.desc, self.n, self.postfixes, self.closed = total, desc, 0, [], False

    def set_postfix_str(self, text):
        self.postfixes.append(text)

    def update(self):
        self.n += 1

    def close(self):
        self.closed = True


def test_super_resolution_study_quick_writes_records_and_shows_progress(tmp_path):
    bars = []
    report = run_study("super-resolution", out_dir=tmp_path, quick=True, dataset="digits",
                       options={"scales": [2]},
                       progress=lambda **kw: bars.append(_Bar(**kw)) or bars[-1])
    assert len(bars) == 1 and bars[0].closed
    assert bars[0].n == bars[0].total == 3       # classifier, ESPCN x2, conv AE x2
    assert bars[0].postfixes == ["digits: reference CNN", "digits x2: ESPCN",
                                 "digits x2: conv autoencoder"]
    records = json.loads((tmp_path / "results.json").read_text())["records"]
    methods = {(r["scale"], r["method"]) for r in records}
    assert methods == {(1, "original"), (2, "bicubic"), (2, "espcn"), (2, "conv_ae")}
    assert all(0 <= r["accuracy"] <= 1 for r in records)
    assert report.is_file()
