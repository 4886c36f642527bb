"""The super-resolution study runs end to end (quick, on digits) and writes its table; its
conv autoencoders are ordinary run folders."""

from __future__ import annotations

import json

from aelab.studies import run_study


class _Bar:
    """Stands in for the CLI's tqdm factory and remembers what the study told it."""

    def __init__(self, total, desc, unit=None):
        self.total, self.desc, self.n, self.postfixes, self.closed = total, desc, 0, [], False

    def set_postfix_str(self, text):
        self.postfixes.append(text)

    def update(self, n=1):
        self.n += n

    def close(self):
        self.closed = True


def test_super_resolution_study_quick_writes_records_and_shows_progress(tmp_path):
    bars = []
    report = run_study("super-resolution", out_dir=tmp_path, quick=True, dataset="digits",
                       options={"scales": [2]},
                       progress=lambda **kw: bars.append(_Bar(**kw)) or bars[-1])
    runs, study = bars               # the executor's (the conv AE runs), then the scoring's
    assert runs.desc == "runs" and runs.n == runs.total == 1 and runs.closed
    assert study.closed and study.n == study.total == 2      # classifier, ESPCN x2
    assert study.postfixes == ["digits: reference CNN", "digits x2: ESPCN"]
    records = json.loads((tmp_path / "results.json").read_text())["records"]
    methods = {(r["scale"], r["method"]) for r in records}
    assert methods == {(1, "original"), (2, "bicubic"), (2, "espcn"), (2, "conv_ae")}
    assert all(0 <= r["accuracy"] <= 1 for r in records)
    assert report.is_file()


def test_super_resolution_conv_upscaler_is_a_run_folder_trained_on_downscaled_inputs(tmp_path):
    from aelab.runs import load_run

    run_study("super-resolution", out_dir=tmp_path, quick=True, dataset="digits",
              options={"scales": [2]})
    cfg, model = load_run(tmp_path / "runs" / "digits-x2")
    assert [c.to_dict() for c in cfg.corruption] == [{"name": "downscale", "scale": 2}]
    assert cfg.data.subset == "first" and cfg.data.limit == 600 and model.latent_dim == 64
    metrics = json.loads((tmp_path / "runs" / "digits-x2" / "metrics.json").read_text())
    assert metrics["n_train"] == 600 and "test_psnr_db" in metrics
