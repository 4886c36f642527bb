import numpy as np
import pytest

from aelab.baselines import BASELINES, BiasCorrection, tune
from aelab.corruptions import corrupt_array, create
from aelab.errors import NotFittedError
from aelab.evaluate.restoration import scores


@pytest.fixture(scope="module")
def noisy_digits():
    """60 smooth 16x16 blob images (uint8 -> [0, 1]) and their gaussian-corrupted copies."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:16, 0:16]
    cy, cx = rng.uniform(3, 13, size=(2, 60, 1, 1))
    img = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 12.0)
    x = (img[:, None] * 255).round().astype(np.uint8)
    x_in, _ = corrupt_array(create("gaussian", factor=0.3), x, seed=0)
    return x / np.float32(255), x_in


@pytest.mark.parametrize("name", BASELINES.names())
def test_baseline_denoises_and_keeps_shape(name, noisy_digits):
    x, x_in = noisy_digits
    b = BASELINES.get(name)()
    params = b.grid(0.3)[len(b.grid(0.3)) // 2]
    out = b.denoise(x_in[:30], **params)
    assert out.shape == x_in[:30].shape and out.min() >= 0 and out.max() <= 1
    assert scores(x[:30], out)["mse"] < scores(x[:30], x_in[:30])["mse"]


def test_bm3d_denoises_colour_mosaics():
    rng = np.random.default_rng(0)
    x = np.tile(np.linspace(0, 1, 16, dtype=np.float32), (3, 3, 16, 1))   # (3, 3, 16, 16)
    x_in = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1).astype(np.float32)
    out = BASELINES.get("bm3d")().denoise(x_in, sigma_psd=0.2)
    assert out.shape == x.shape
    assert scores(x, out)["psnr_db"] > scores(x, x_in)["psnr_db"] + 3


def test_bias_correction_removes_a_haze_and_is_monotone():
    rng = np.random.default_rng(0)
    clean = (rng.random(5000) > 0.8).astype(np.float32)
    hazy = np.clip(0.25 + 0.6 * clean + 0.05 * rng.standard_normal(5000), 0, 1)
    corr = BiasCorrection().fit(hazy, clean)
    fixed = corr.transform(hazy)
    assert np.mean((fixed - clean) ** 2) < 0.2 * np.mean((hazy - clean) ** 2)
    grid = corr.transform(np.linspace(0, 1, 50))
    assert np.all(np.diff(grid) >= 0)


def test_bias_correction_before_fit_raises():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BiasCorrection().transform(np.zeros(3))


def test_tune_picks_the_best_validation_setting(noisy_digits):
    x, x_in = noisy_digits
    tuned = tune(BASELINES.get("tv")(), x[:30], x_in[:30])
    best = max(tuned.trials, key=lambda t: t["val_psnr_db"])
    assert tuned.params == {"weight": best["weight"]}
    best_c = max(tuned.trials, key=lambda t: t["val_psnr_db_corrected"])
    assert tuned.params_corrected == {"weight": best_c["weight"]}
    assert best_c["val_psnr_db_corrected"] >= best["val_psnr_db"] - 0.5


def test_tune_never_looks_at_other_images(noisy_digits):
    x, x_in = noisy_digits
    a = tune(BASELINES.get("median")(), x[:30], x_in[:30])
    x_other = x.copy()
    x_other[30:] = 0
    b = tune(BASELINES.get("median")(), x_other[:30], x_in[:30])
    assert a.trials == b.trials
