"""`aelab study vae --quick`: ELBO and importance-weighted bound per latent size, figures."""

from __future__ import annotations

import json

from aelab.cli import main


def test_study_vae_quick_writes_bounds_and_figures(tmp_path):
    assert main(["study", "vae", "--quick", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "vae_digits.json").read_text())
    assert {"study", "command", "machine", "versions", "records"} <= set(data)
    records = data["records"]
    assert [r["latent_dim"] for r in records] == [2, 8]
    for r in records:
        # Binary 8x8 images: log p(x) lies in (-64 log 2, 0); L_k >= ELBO up to MC noise.
        assert -64 * 0.7 < r["test_elbo"] < 0 and r["test_iw_bound"] < 0
        assert r["test_iw_bound"] > r["test_elbo"] - 1.0
    assert (tmp_path / "figures" / "manifold-latent2.png").is_file()
    assert (tmp_path / "figures" / "prior-samples-latent8.png").is_file()
    assert (tmp_path / "index.html").is_file()
