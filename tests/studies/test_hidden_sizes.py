import json

from aelab.cli import main


def test_hidden_sizes_quick_writes_report_and_results(tmp_path, embedded_pngs):
    assert main(["study", "hidden-sizes", "--quick", "--out", str(tmp_path)]) == 0
    html = (tmp_path / "report.html").read_text()
    assert len(embedded_pngs(html)) == 2
    recs = json.loads((tmp_path / "results.json").read_text())["records"]
    assert [r["model"] for r in recs] == ["fc(16)-fc(64)", "fc(32)-fc(64)", "64-32-16-8"]
    assert recs[0]["parameters"] < recs[1]["parameters"]
    assert all(0 < r["test_mse"] < 1 for r in recs)
