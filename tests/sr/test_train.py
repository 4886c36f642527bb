"""ESPCN training on tiny synthetic photos: patches line up, the loss drops, the run folder
loads, and the CLI trains and upscales in-process."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from aelab.cli import main
from aelab.errors import ConfigError
from aelab.models.espcn import load_upscaler
from aelab.sr.datasets import SRImage
from aelab.sr.resize import downscale
from aelab.sr.train import (
    PatchSampler,
    SRConfig,
    learning_rate_factor,
    load_sr_run,
    split_train_val,
    train_espcn,
)


def photos(n=6, size=60, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for i in range(n):
        f = rng.uniform(2, 6, 3)
        img = 127 + 100 * np.sin(f[0] * 6 * xx + f[1] * 4 * yy)[..., None] * np.array([1, .8, .6])
        out.append(SRImage(f"p{i}", np.clip(img, 0, 255).astype(np.uint8)))
    return out


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ConfigError, match="Did you mean 'steps'"):
        SRConfig.from_dict({"step": 10})
    with pytest.raises(ConfigError, match="patch"):
        SRConfig.from_dict({"patch": 8})


def test_patch_sampler_pairs_are_aligned():
    cfg = SRConfig(scale=2, patch=12, color="y")
    x, y = PatchSampler(photos(2), cfg).sample(4, np.random.default_rng(0))
    assert x.shape == (4, 1, 12, 12) and y.shape == (4, 1, 24, 24)
    # The LR crop is the degradation of its HR crop, away from the crop border.
    low = downscale(y[0, 0].numpy(), 2)
    np.testing.assert_allclose(low[3:-3, 3:-3], x[0, 0].numpy()[3:-3, 3:-3], atol=1e-4)


def test_split_keeps_validation_apart():
    train, val = split_train_val(photos(9), 3)
    assert len(val) == 3 and not {v.name for v in val} & {t.name for t in train}


def test_training_lowers_loss_and_writes_loadable_run(tmp_path):
    cfg = SRConfig(scale=2, patch=12, batch_size=8, steps=40, eval_every=20, val_images=1,
                   features=(16, 8))
    run = train_espcn(cfg, tmp_path / "run", images=photos())
    rows = (run / "history.csv").read_text().splitlines()
    first, last = (float(r.split(",")[2]) for r in (rows[1], rows[-1]))
    assert last < first
    loaded_cfg, model = load_sr_run(run)
    assert loaded_cfg == cfg and model.scale == 2
    assert json.loads((run / "metrics.json").read_text())["n_val_images"] == 1


def test_cli_upscale_writes_scaled_png(tmp_path, capsys):
    cfg = SRConfig(scale=3, patch=12, batch_size=4, steps=2, eval_every=2, val_images=0)
    run = train_espcn(cfg, tmp_path / "run", images=photos(2))
    Image.fromarray(photos(1)[0].pixels[:40, :50]).save(tmp_path / "in.png")
    code = main(["upscale", str(run), str(tmp_path / "in.png"), "--out", str(tmp_path / "o"),
                 "--tile", "20", "--overlap", "10"])
    assert code == 0
    assert Image.open(tmp_path / "o" / "in_x3.png").size == (150, 120)


def test_cli_upscale_refuses_small_overlap(tmp_path, capsys):
    cfg = SRConfig(scale=2, patch=12, batch_size=4, steps=1, eval_every=1, val_images=0)
    run = train_espcn(cfg, tmp_path / "run", images=photos(2))
    Image.fromarray(photos(1)[0].pixels).save(tmp_path / "in.png")
    code = main(["upscale", str(run), str(tmp_path / "in.png"), "--out", str(tmp_path / "o"),
                 "--overlap", "4"])
    assert code == 2
    assert "overlap 4 is too small" in capsys.readouterr().err


def test_split_run_resumed_equals_one_run(tmp_path):
    # A run stopped by its time budget and resumed draws the same patches and follows the
    # same schedule: its final weights equal those of the run done in one job.
    cfg = SRConfig(scale=2, patch=12, batch_size=4, steps=12, eval_every=4, val_images=1,
                   features=(8, 4), warmup_steps=2)
    whole = train_espcn(cfg, tmp_path / "whole", images=photos())
    part = train_espcn(cfg, tmp_path / "part", images=photos(), max_seconds=0)
    assert json.loads((part / "metrics.json").read_text())["steps_done"] == 4
    train_espcn(cfg, part, images=photos(), resume=True)
    metrics = json.loads((part / "metrics.json").read_text())
    assert metrics["steps_done"] == 12 and len(metrics["jobs"]) == 2
    assert metrics["train_seconds"] == pytest.approx(sum(j["seconds"] for j in metrics["jobs"]))
    a, b = (load_upscaler(run / "last.safetensors").state_dict() for run in (whole, part))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    assert (whole / "history.csv").read_text().count("\n") == (
        part / "history.csv").read_text().count("\n")


def test_resume_refuses_a_different_config(tmp_path):
    cfg = SRConfig(scale=2, patch=12, batch_size=4, steps=4, eval_every=2, val_images=0,
                   features=(8, 4))
    run = train_espcn(cfg, tmp_path / "run", images=photos(2), max_seconds=0)
    with pytest.raises(ConfigError, match="different config"):
        train_espcn(SRConfig(**{**cfg.__dict__, "lr": 0.01}), run, images=photos(2),
                    resume=True)


def test_learning_rate_warms_up_then_decays_to_final():
    cfg = SRConfig(steps=100, warmup_steps=10, lr=0.01, lr_final=1e-4)
    factors = [learning_rate_factor(cfg, s) for s in range(1, 101)]
    assert factors[0] < 0.2 and factors[9] == pytest.approx(1.0)
    assert factors[-1] == pytest.approx(0.01) and all(np.diff(factors[10:]) <= 1e-12)


def test_cli_sr_train_on_a_photo_folder_can_skip_the_test_sets(tmp_path, capsys):
    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (90, 90, 3), dtype=np.uint8)).save(
            photos / f"p{i}.png")
    out = tmp_path / "run"
    code = main(["sr-train", "--scale", "2", "--data", str(photos), "--out", str(out),
                 "--set", "steps=3", "--set", "eval_every=3", "--set", "val_images=1",
                 "--set", "batch_size=2", "--test-sets", "none"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps_done"] == 3 and "Set5" not in metrics
    captured = capsys.readouterr()
    assert "Set5" not in captured.out
    # the progress of training: a line per evaluation with its scores
    assert "step 3: train_mse=" in captured.err and "val_psnr_y_db=" in captured.err


def test_callbacks_see_every_step_and_evaluation_and_nan_is_named(tmp_path):
    from aelab.errors import TrainingError
    from aelab.train import Callback

    class Record(Callback):
        def __init__(self):
            self.start, self.steps, self.rows = None, [], []

        def on_train_start(self, epochs, steps_per_epoch, start_epoch):
            self.start = (epochs, steps_per_epoch, start_epoch)

        def on_batch_end(self, step, terms):
            self.steps.append(step)

        def on_epoch_end(self, row):
            self.rows.append((row["epoch"], row["step"]))

    rec = Record()
    cfg = SRConfig(scale=2, patch=12, batch_size=2, steps=5, eval_every=2, val_images=0,
                   features=(4, 4))
    train_espcn(cfg, tmp_path / "run", images=photos(2), callbacks=[rec])
    assert rec.start == (3, 2, 1) and rec.steps == [1, 2, 3, 4, 5]
    assert rec.rows == [(1, 2), (2, 4), (3, 5)]
    with pytest.raises(TrainingError, match=r"non-finite at step 2: total=nan\. Lower sr\.lr"):
        train_espcn(SRConfig(scale=2, patch=12, batch_size=2, steps=2, eval_every=2,
                             val_images=0, features=(4, 4), lr=float("nan"), lr_final=1e-5),
                    tmp_path / "nan", images=photos(2))   # step 1 makes the weights NaN


@pytest.mark.parametrize("precision", ["bf16"] + (["fp32"] if torch.cuda.is_available() else []))
def test_training_at_a_precision_and_on_a_device_is_recorded(tmp_path, precision):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cfg = SRConfig(scale=2, patch=12, batch_size=8, steps=40, eval_every=20, val_images=1,
                   features=(16, 8), device=device, precision=precision)
    run = train_espcn(cfg, tmp_path / "run", images=photos())
    env = json.loads((run / "env.json").read_text())
    assert env["precision"] == precision and env["device"].startswith(device)
    rows = (run / "history.csv").read_text().splitlines()
    first, last = (float(r.split(",")[2]) for r in (rows[1], rows[-1]))
    assert last < first
    assert all(p.dtype == torch.float32 for p in load_sr_run(run)[1].parameters())


def test_bad_device_or_precision_is_refused_naming_the_option(tmp_path):
    with pytest.raises(ConfigError, match=r"sr\.device = 'gpu' is not a device"):
        SRConfig.from_dict({"device": "gpu"})
    with pytest.raises(ConfigError, match=r"sr\.precision must be one of fp32, bf16, auto"):
        SRConfig.from_dict({"precision": "fp16"})
    if not torch.cuda.is_available():
        cfg = SRConfig(scale=2, patch=12, batch_size=8, steps=2, device="cuda")
        with pytest.raises(ConfigError, match=r"sr\.device = 'cuda' but no CUDA device"):
            train_espcn(cfg, tmp_path / "run", images=photos())
        assert not (tmp_path / "run").exists()
