import json

import numpy as np

from aelab.cli import main
from aelab.studies.pca_vs_ae import pca_failures


def test_pca_vs_ae_quick_writes_report_and_results(tmp_path, embedded_pngs):
    assert main(["study", "pca-vs-ae", "--quick", "--out", str(tmp_path)]) == 0
    html = (tmp_path / "report.html").read_text()
    # errors, variance, a reconstruction grid per dim; percentile galleries of PCA and of
    # each autoencoder's code at each dim
    assert len(embedded_pngs(html)) == 4 + 1 + 2 * 2
    assert "percentile galleries" in html
    assert sorted(p.name for p in (tmp_path / "figures").glob("gallery_*.png")) == [
        "gallery_conv_d10.png", "gallery_conv_d2.png", "gallery_dense_d10.png",
        "gallery_dense_d2.png", "gallery_pca.png"]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["study"] == "pca-vs-ae" and "--quick" in results["command"]
    recs = results["records"]
    assert {(r["method"], r["dim"]) for r in recs} == {
        (m, d) for m in ("pca", "dense", "conv") for d in (2, 10)}
    for r in recs:
        assert set(r) >= {"method", "dim", "mse", "sse_per_image", "train_seconds"}
        assert np.isclose(r["sse_per_image"], r["mse"] * 64)
    pca = {r["dim"]: r["sse_per_image"] for r in recs if r["method"] == "pca"}
    assert pca[10] < pca[2]      # more components, less error


def test_pca_failures_ranks_classes_by_excess_over_the_best_autoencoder():
    per_class = [
        {"method": "pca", "dim": 2, "class": "a", "sse_per_image": 10.0},
        {"method": "pca", "dim": 2, "class": "b", "sse_per_image": 12.0},
        {"method": "dense", "dim": 2, "class": "a", "sse_per_image": 2.0},
        {"method": "conv", "dim": 2, "class": "a", "sse_per_image": 4.0},
        {"method": "dense", "dim": 2, "class": "b", "sse_per_image": 6.0},
    ]
    rows = pca_failures(per_class, 2, top=2)
    assert [r["class"] for r in rows] == ["a", "b"]
    assert rows[0]["best_ae_sse"] == 2.0 and rows[0]["pca_over_ae"] == 5.0
