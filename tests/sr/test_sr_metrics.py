"""PSNR/SSIM on Y with a border crop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aelab.sr.metrics import psnr_y, ssim_y


def test_psnr_y_known_value_and_border_crop():
    a = np.full((10, 10), 100.0)
    b = a.copy()
    b[0, :] += 50.0                        # error only on the top row
    assert psnr_y(a, b, border=1) == 100.0
    mse = 50.0**2 * 10 / 100
    assert psnr_y(a, b) == pytest.approx(10 * math.log10(255**2 / mse))


def test_psnr_clips_estimate_to_pixel_range():
    a = np.full((6, 6), 255.0)
    assert psnr_y(a, a + 40.0) == 100.0


def test_ssim_y_is_one_for_identical_and_lower_for_noise():
    rng = np.random.default_rng(0)
    a = np.add.outer(np.linspace(16, 235, 32), np.zeros(32))     # smooth ramp
    assert ssim_y(a, a, border=2) == pytest.approx(1.0)
    assert ssim_y(a, a + rng.normal(0, 20, a.shape), border=2) < 0.9
