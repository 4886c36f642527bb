import json
import re

import numpy as np

from aelab.cli import main


def test_study_restoration_quick_writes_results_and_report(tmp_path, capsys):
    assert main(["study", "restoration", "--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "results.json").read_text())
    assert {"study", "command", "machine", "versions", "records"} <= set(result)
    methods = {r["method"] for r in result["records"]}
    assert {"noisy", "autoencoder", "autoencoder_all_levels", "nlm", "tv", "median", "bm3d",
            "bm3d_corrected", "median_corrected"} <= methods
    levels = {r["level"] for r in result["records"] if r["corruption"] == "gaussian"}
    assert levels == {0.3, 0.7}
    for r in result["records"]:
        assert {"dataset", "corruption", "level", "method", "psnr_db", "ssim", "mse"} <= set(r)
    block = [r for r in result["records"] if r["corruption"] == "block"]
    assert block and all("hidden_psnr_db" in r for r in block)
    html = (tmp_path / "report.html").read_text()
    assert "mean over test images of the per-image PSNR" in html
    imgs = re.findall(r'<img[^>]*src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) >= 3 and all(len(i) > 1000 for i in imgs)   # every image is inlined
    assert len(result["runs"]) == 4 and all(r["train_seconds"] > 0 for r in result["runs"])
    assert {r["n_test"] for r in result["records"]} == {40}


def test_study_restoration_subsets_are_fixed_sorted_and_spread():
    from aelab.studies.restoration import _subset

    a = _subset(1000, 100)
    assert np.array_equal(a, _subset(1000, 100)) and np.all(np.diff(a) > 0)
    assert a.max() > 500            # not the first 100: class-ordered folders stay balanced
    assert np.array_equal(_subset(5, 10), np.arange(5))
