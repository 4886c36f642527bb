"""PSNR/SSIM on Y with a border crop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aelab.sr.datasets import SRImage
from aelab.sr.evaluate import score_image
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


def test_grey_image_is_scored_on_its_raw_values_not_studio_range():
    # The published protocol converts only RGB images to Y; a grey image (Set14's bridge) is
    # its own luminance. Squeezing it into [16, 235] would scale every error by 219/255.
    yy, xx = np.mgrid[0:48, 0:48]
    grey = (128 + 80 * np.sin(xx / 2.0) * np.cos(yy / 3.0)).astype(np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    (on_grey,) = score_image(SRImage("g", grey), 3, methods=("bicubic",))
    (on_rgb,) = score_image(SRImage("c", rgb), 3, methods=("bicubic",))
    assert on_grey["psnr_y_db"] == pytest.approx(
        on_rgb["psnr_y_db"] - 20 * math.log10(255 / 219), abs=0.02)
