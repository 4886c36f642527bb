"""`aelab study vae --quick`: ELBO and importance-weighted bound per latent size, figures,
and binarized run folders that `load_run` opens."""

from __future__ import annotations

import json

import numpy as np

from aelab.cli import main


def test_study_vae_quick_writes_bounds_and_figures(tmp_path):
    from aelab.runs import load_run, prepare_data

    assert main(["study", "vae", "--quick", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    assert {"study", "command", "machine", "versions", "records"} <= set(data)
    records = data["records"]
    assert [r["latent_dim"] for r in records] == [2, 8]
    for r in records:
        assert set(r) == {"dataset", "latent_dim", "test_elbo", "test_iw_bound", "k", "epochs",
                          "train_seconds", "protocol"}
        # Binary 8x8 images: log p(x) lies in (-64 log 2, 0); L_k >= ELBO up to MC noise.
        assert -64 * 0.7 < r["test_elbo"] < 0 and r["test_iw_bound"] < 0
        assert r["test_iw_bound"] > r["test_elbo"] - 1.0
    assert (tmp_path / "figures" / "manifold-latent2.png").is_file()
    assert (tmp_path / "figures" / "prior-samples-latent8.png").is_file()
    assert (tmp_path / "report.html").is_file()
    cfg, model = load_run(tmp_path / "runs" / "latent2")
    splits = prepare_data(cfg)
    assert cfg.data.binarize and model.latent_dim == 2
    for x in (splits.x_train, splits.x_val, splits.x_test):     # what the VAE saw: 0 or 255
        assert set(np.unique(x)) <= {0, 255}
