import json

import pytest

from aelab.cli import main
from aelab.errors import ConfigError, DataError
from aelab.studies import run_study


def test_out_of_distribution_quick_scores_noise_as_foreign(tmp_path, embedded_pngs):
    assert main(["study", "out-of-distribution", "--quick", "--out", str(tmp_path),
                 "--option", "models=[\"dense\"]"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    rows = {r["source"]: r for r in results["records"]}
    assert set(rows) == {"digits", "noise", "inverted"}
    assert rows["digits"]["auroc"] is None and rows["digits"]["in_distribution"]
    # Uniform noise is far from every digit: its reconstruction error is always larger.
    assert rows["noise"]["auroc"] > 0.95
    assert rows["noise"]["sse_per_image"] > rows["digits"]["sse_per_image"]
    html = (tmp_path / "report.html").read_text()
    figures = list((tmp_path / "figures").glob("*.png"))
    assert len(figures) == 4     # histogram + three reconstruction grids
    assert len(embedded_pngs(html)) == len(figures)


def test_out_of_distribution_unknown_source_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="neither a dataset"):
        run_study("out-of-distribution", out_dir=tmp_path, quick=True,
                  options={"sources": ["gaussian_blur"]})


def test_out_of_distribution_shape_mismatch_names_both_shapes(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv("AELAB_DATA", str(mirror))
    with pytest.raises(DataError, match=r"\(1, 28, 28\).*\(1, 8, 8\)"):
        run_study("out-of-distribution", out_dir=tmp_path, quick=True,
                  options={"sources": ["fashion_mnist"], "models": ["dense"], "epochs": 1})
