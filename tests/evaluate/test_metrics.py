import math

import numpy as np
import pytest
import torch

from aelab.errors import DataError
from aelab.evaluate import metrics


@pytest.fixture
def images() -> np.ndarray:
    """Smooth grey images (8, 1, 16, 16) in [0.2, 0.8], so small errors stay in [0, 1]."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:16, 0:16] / 15.0
    phase = rng.uniform(0, 2 * np.pi, size=(8, 1, 1, 1))
    return (0.5 + 0.3 * np.sin(3 * xx + 2 * yy + phase)).astype(np.float32)


def test_psnr_identical_images_is_the_cap(images):
    np.testing.assert_array_equal(metrics.psnr(images, images), metrics.PSNR_CAP_DB)


def test_psnr_constant_error_matches_formula(images):
    e = 0.05
    expected = -10 * math.log10(e**2)
    np.testing.assert_allclose(metrics.psnr(images, images + e), expected, rtol=1e-5)


def test_reconstruction_psnr_db_is_mean_of_per_image_psnr(images):
    x_rec = images.copy()
    x_rec[0] += 0.1  # one image with error 0.1 (20 dB), the rest exact (cap)
    expected = (20.0 + 7 * metrics.PSNR_CAP_DB) / 8
    assert metrics.reconstruction(images, x_rec)["psnr_db"] == pytest.approx(expected, rel=1e-5)


def test_reconstruction_mse_and_sse_are_consistent(images):
    x_rec = np.clip(images + np.random.default_rng(1).normal(0, 0.1, images.shape), 0, 1)
    m = metrics.reconstruction(images, x_rec)
    n_pixels = 1 * 16 * 16
    assert m["mse"] == pytest.approx(np.mean((images - x_rec) ** 2), rel=1e-6)
    assert m["sse_per_image"] == pytest.approx(m["mse"] * n_pixels, rel=1e-6)


def test_reconstruction_batches_give_the_same_result(images):
    x_rec = np.clip(images + 0.03, 0, 1)
    whole = metrics.reconstruction(images, x_rec)
    batched = metrics.reconstruction(images, x_rec, batch_size=3)
    assert batched == pytest.approx(whole, rel=1e-9)


def test_ssim_identical_images_is_one(images):
    np.testing.assert_allclose(metrics.ssim(images, images), 1.0, atol=1e-9)


def test_ssim_noisy_images_score_lower(images):
    noisy = np.clip(images + np.random.default_rng(2).normal(0, 0.2, images.shape), 0, 1)
    assert (metrics.ssim(images, noisy) < 0.9).all()


def test_reconstruction_bce_is_minimal_at_the_target():
    x = (np.random.default_rng(3).random((4, 1, 8, 8)) > 0.5).astype(np.float32)
    exact = metrics.reconstruction(x, x)["bce"]
    assert exact < 1e-6
    for x_rec in (np.clip(x, 0.1, 0.9), np.full_like(x, 0.5), 1 - x):
        assert metrics.reconstruction(x, x_rec)["bce"] > exact + 0.1


def test_reconstruction_shape_mismatch_raises_data_error_naming_both_shapes():
    with pytest.raises(DataError, match=r"\(2, 1, 8, 8\).*\(2, 1, 8, 7\)"):
        metrics.reconstruction(np.zeros((2, 1, 8, 8)), np.zeros((2, 1, 8, 7)))


def test_reconstruction_values_outside_unit_range_raise_data_error():
    x = np.full((2, 1, 8, 8), 200.0)  # uint8-scale values passed by mistake
    with pytest.raises(DataError, match="Divide uint8 images by 255"):
        metrics.reconstruction(x, x)


def test_reconstruction_rgb_images_give_finite_metrics():
    x = np.random.default_rng(4).random((3, 3, 12, 12)).astype(np.float32)
    m = metrics.reconstruction(x, np.clip(x + 0.05, 0, 1))
    assert set(m) == {"mse", "bce", "psnr_db", "ssim", "sse_per_image"}
    assert all(np.isfinite(v) for v in m.values())
    assert 0 < m["ssim"] < 1


def test_ssim_8x8_images_work():
    x = np.random.default_rng(5).random((5, 1, 8, 8))
    assert metrics.ssim(x, x).tolist() == pytest.approx([1.0] * 5)
    assert (metrics.ssim(x, np.clip(x + 0.2, 0, 1)) < 1).all()


def test_ssim_images_smaller_than_window_shrink_it():
    x = np.random.default_rng(6).random((2, 1, 4, 5))
    np.testing.assert_allclose(metrics.ssim(x, x), 1.0)


def test_reconstruction_accepts_torch_tensors(images):
    x = torch.from_numpy(images)
    from_torch = metrics.reconstruction(x, x * 0.9)
    from_numpy = metrics.reconstruction(images, images * 0.9)
    assert from_torch == pytest.approx(from_numpy, rel=1e-6)
