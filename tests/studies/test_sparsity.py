import json

import numpy as np

from aelab.cli import main
from aelab.studies.sparsity import code_stats


def test_sparsity_quick_writes_report_and_results(tmp_path, embedded_pngs):
    assert main(["study", "sparsity", "--quick", "--out", str(tmp_path),
                 "--option", "weights=[0.01]"]) == 0
    html = (tmp_path / "report.html").read_text()
    # one filter grid and one percentile gallery per weight (plain + 0.01), the
    # reconstructions
    assert len(embedded_pngs(html)) == 5 and "percentile galleries" in html
    recs = json.loads((tmp_path / "results.json").read_text())["records"]
    assert [r["l1_weight"] for r in recs] == [0.0, 0.01]
    plain, sparse = recs
    assert sparse["mean_activation"] < plain["mean_activation"]
    assert sparse["near_zero_fraction"] > plain["near_zero_fraction"]


def test_code_stats_counts_near_zero_values_and_dead_units():
    z = np.array([[0.0, 0.5, 0.001], [0.0, 0.2, 2.0]])
    s = code_stats(z, threshold=0.01)
    assert s["near_zero_fraction"] == 3 / 6
    assert s["dead_unit_fraction"] == 1 / 3
    assert s["active_units_per_image"] == 1.5
    assert np.isclose(s["mean_activation"], z.mean())
