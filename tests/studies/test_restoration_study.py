import json
import re

from aelab.cli import main


def test_study_restoration_quick_writes_results_and_report(tmp_path, capsys):
    assert main(["study", "restoration", "--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "restoration_digits.json").read_text())
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
