"""Super-resolution metrics, computed the way published tables compute them.

PSNR and SSIM are taken on the luminance Y of YCbCr (studio range, [16, 235], see
`color.rgb_to_y`), on a [0, 255] scale (data range 255), after cropping `border` pixels
(the scale factor r, by convention) from every side: a network's zero-padded border and the
interpolation's edge handling are not what is being compared. The estimate is clipped to
[0, 255] and not rounded to integers. SSIM is Wang et al.'s (Gaussian window, sigma 1.5,
K1 = 0.01, K2 = 0.03, population covariance), as skimage computes it with those options.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import structural_similarity


def _pair(y_true: np.ndarray, y_est: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray]:
    if y_true.shape != y_est.shape or y_true.ndim != 2:
        raise ValueError(f"expected two (H, W) luminance planes of the same shape; got "
                         f"{y_true.shape} and {y_est.shape}")
    b = int(border)
    if b:
        y_true, y_est = y_true[b:-b, b:-b], y_est[b:-b, b:-b]
    return y_true.astype(np.float64), np.clip(y_est.astype(np.float64), 0.0, 255.0)


def psnr_y(y_true: np.ndarray, y_est: np.ndarray, border: int = 0) -> float:
    """PSNR in dB of two Y planes in [0, 255], `border` pixels cropped from each side."""
    a, b = _pair(y_true, y_est, border)
    mse = float(np.mean((a - b) ** 2))
    return 100.0 if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def ssim_y(y_true: np.ndarray, y_est: np.ndarray, border: int = 0) -> float:
    """SSIM of two Y planes in [0, 255] (Gaussian window), `border` pixels cropped."""
    a, b = _pair(y_true, y_est, border)
    return float(structural_similarity(a, b, data_range=255.0, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))
