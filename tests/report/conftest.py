import csv
import json
from pathlib import Path

import numpy as np
import pytest

from aelab.report.figures import reconstruction_grid, save_figure

HISTORY_COLUMNS = ["epoch", "seconds", "lr", "train_total", "train_recon", "train_kl",
                   "val_total", "val_recon", "val_kl"]


def write_history(path: Path, n_epochs: int = 3) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HISTORY_COLUMNS)
        for epoch in range(1, n_epochs + 1):
            recon, kl = 0.5 / epoch, 0.1 / epoch
            writer.writerow([epoch, 1.25 * epoch, 1e-3, recon + kl, recon, kl,
                             recon + kl + 0.02, recon + 0.02, kl])


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A complete synthetic run folder, as the training code writes it, with one figure."""
    run = tmp_path / "digits_dense"
    run.mkdir()
    config = {"data": {"name": "digits", "batch_size": 64},
              "model": {"name": "dense", "latent_dim": 8, "hidden": [64, 32]},
              "loss": {"recon": "bce"}, "train": {"lr": 0.001, "epochs": 3, "seed": 0}}
    (run / "config.json").write_text(json.dumps(config))
    (run / "env.json").write_text(json.dumps(
        {"versions": {"python": "3.11.7", "torch": "2.4.0"}, "device": "cpu", "seed": 0,
         "command": "aelab train configs/digits_dense.toml",
         "started_at": "2024-05-01T12:00:00"}))
    (run / "metrics.json").write_text(json.dumps(
        {"test_mse": 0.0123456, "test_bce": 0.2345678, "test_psnr_db": 19.08765,
         "test_ssim": 0.876543, "parameters": 12345, "train_seconds": 3.75,
         "train_images_per_second": 1234.5, "epochs": 3, "n_train": 1437, "n_test": 360}))
    write_history(run / "history.csv")
    x = np.random.default_rng(0).random((25, 1, 8, 8))
    save_figure(reconstruction_grid(x, x), run / "figures" / "reconstructions.png", dpi=40)
    return run
