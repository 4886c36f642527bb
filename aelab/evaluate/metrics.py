"""Reconstruction metrics: arrays in, ``dict[str, float]`` out.

These functions know nothing about models or training. They take clean images ``x`` and
reconstructions ``x_rec``, both ``(N, C, H, W)`` with values in ``[0, 1]`` (numpy arrays or
torch tensors), and compare them pixel by pixel (MSE, BCE, PSNR) or by local structure (SSIM).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from skimage.metrics import structural_similarity

from aelab.errors import DataError

__all__ = ["PSNR_CAP_DB", "BCE_EPS", "reconstruction", "psnr", "ssim"]

logger = logging.getLogger(__name__)

PSNR_CAP_DB = 100.0
"""PSNR given to an image reconstructed exactly (its MSE is 0, so PSNR would be infinite)."""

BCE_EPS = 1e-7
"""Reconstructions are clipped to ``[BCE_EPS, 1 - BCE_EPS]`` before taking logarithms."""

# MSE at which 10 * log10(1 / mse) equals the cap: flooring the MSE here caps the PSNR.
_MSE_FLOOR = 10.0 ** (-PSNR_CAP_DB / 10.0)
# Slack for float rounding when checking that values lie in [0, 1].
_RANGE_TOL = 1e-6


def reconstruction(x: Any, x_rec: Any, *, batch_size: int = 1024) -> dict[str, float]:
    """Summarize how well ``x_rec`` reconstructs ``x``.

    Parameters
    ----------
    x : array-like of shape (N, C, H, W)
        Clean images, floats in ``[0, 1]`` (numpy array or torch tensor).
    x_rec : array-like of shape (N, C, H, W)
        Reconstructions, floats in ``[0, 1]``.
    batch_size : int, default=1024
        Images processed at a time for the pixel-wise metrics; bounds the memory used.

    Returns
    -------
    dict[str, float]
        ``mse``
            Mean squared error per pixel.
        ``bce``
            Mean per-pixel binary cross-entropy of ``x_rec`` against ``x``, with ``x_rec``
            clipped to ``[1e-7, 1 - 1e-7]``. ``x`` is a soft target, so for grey values the
            minimum (reached at ``x_rec == x``) is the entropy of ``x``, not 0.
        ``psnr_db``
            Mean over images of the per-image PSNR in dB (see :func:`psnr`; exact
            reconstructions count as 100 dB).
        ``ssim``
            Mean over images of the per-image SSIM (see :func:`ssim`).
        ``sse_per_image``
            Sum of squared errors of one image, averaged over images
            (equals ``mse * C * H * W``).

    Raises
    ------
    DataError
        If the shapes differ, are not 4-D, hold no image, or values fall outside ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.full((2, 1, 8, 8), 0.5)
    >>> m = reconstruction(x, x + 0.1)
    >>> round(m["mse"], 4), round(m["psnr_db"], 1)
    (0.01, 20.0)
    """
    x, x_rec = _check_pair(x, x_rec)
    if batch_size < 1:
        raise DataError(f"batch_size must be a positive integer; got {batch_size!r}.")
    n = x.shape[0]
    sse = np.empty(n)
    bce_sum = 0.0
    for start in range(0, n, batch_size):
        xb = x[start : start + batch_size].astype(np.float64)
        rb = x_rec[start : start + batch_size].astype(np.float64)
        sse[start : start + len(xb)] = _per_image_sse(xb, rb)
        p = np.clip(rb, BCE_EPS, 1.0 - BCE_EPS)
        bce_sum += float(-(xb * np.log(p) + (1.0 - xb) * np.log1p(-p)).sum())
    n_pixels = int(np.prod(x.shape[1:]))
    return {
        "mse": float(sse.sum() / (n * n_pixels)),
        "bce": bce_sum / (n * n_pixels),
        "psnr_db": float(_psnr_from_mse(sse / n_pixels).mean()),
        "ssim": float(ssim(x, x_rec).mean()),
        "sse_per_image": float(sse.mean()),
    }


def psnr(x: Any, x_rec: Any) -> np.ndarray:
    """Peak signal-to-noise ratio of each image, in dB, with data range 1.

    ``PSNR = 10 * log10(1 / MSE)`` where MSE is taken over one image's pixels and channels.
    An exact reconstruction (MSE 0) would be infinite; it is capped at 100 dB
    (:data:`PSNR_CAP_DB`), so that means stay finite.

    Parameters
    ----------
    x, x_rec : array-like of shape (N, C, H, W)
        Clean images and reconstructions, floats in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray of shape (N,)
        PSNR of each image in dB.

    Raises
    ------
    DataError
        If the shapes differ, are not 4-D, or values fall outside ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((1, 1, 4, 4))
    >>> psnr(x, x + 0.1).round(6)
    array([20.])
    """
    x, x_rec = _check_pair(x, x_rec)
    n_pixels = int(np.prod(x.shape[1:]))
    sse = _per_image_sse(x.astype(np.float64), x_rec.astype(np.float64))
    return _psnr_from_mse(sse / n_pixels)


def ssim(x: Any, x_rec: Any) -> np.ndarray:
    """Structural similarity of each image, from ``skimage.metrics.structural_similarity``.

    Called with ``data_range=1`` and, for ``C > 1``, ``channel_axis`` set (SSIM averaged over
    channels). The window is 7x7, skimage's default; images smaller than 7 pixels on a side
    use the largest odd window that fits, ``win_size = min(H, W)`` rounded down to an odd
    number (at least 3), so SSIM of small images is computed on fewer neighbours.

    Parameters
    ----------
    x, x_rec : array-like of shape (N, C, H, W)
        Clean images and reconstructions, floats in ``[0, 1]``; ``H`` and ``W`` at least 3.

    Returns
    -------
    numpy.ndarray of shape (N,)
        SSIM of each image; 1 for identical images.

    Raises
    ------
    DataError
        If the shapes differ, are not 4-D, images are smaller than 3x3, or values fall
        outside ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((2, 1, 8, 8))
    >>> ssim(x, x)
    array([1., 1.])
    """
    x, x_rec = _check_pair(x, x_rec)
    n, c, h, w = x.shape
    win_size = _ssim_window(h, w)
    if c == 1:
        x, x_rec = x[:, 0], x_rec[:, 0]  # (N, H, W): skimage wants 2-D grey images
        channel_axis = None
    else:
        channel_axis = 0  # each image is (C, H, W)
    return np.array(
        [
            structural_similarity(
                a, b, data_range=1.0, win_size=win_size, channel_axis=channel_axis
            )
            for a, b in zip(x, x_rec, strict=True)
        ],
        dtype=np.float64,
    )


def _check_pair(x: Any, x_rec: Any) -> tuple[np.ndarray, np.ndarray]:
    x, x_rec = _to_numpy(x), _to_numpy(x_rec)
    if x.shape != x_rec.shape:
        raise DataError(
            f"x and x_rec must have the same shape; got x {x.shape} and x_rec {x_rec.shape}."
        )
    if x.ndim != 4:
        raise DataError(
            f"expected images of shape (N, C, H, W); got {x.shape}. "
            "Add a channel axis (x[:, None]) for grey images of shape (N, H, W)."
        )
    if x.shape[0] == 0:
        raise DataError(f"no images to compare: got shape {x.shape}.")
    for name, a in (("x", x), ("x_rec", x_rec)):
        lo, hi = float(a.min()), float(a.max())
        if not (lo >= -_RANGE_TOL and hi <= 1.0 + _RANGE_TOL):  # also catches NaN
            raise DataError(
                f"{name} must hold floats in [0, 1]; got values in [{lo:.4g}, {hi:.4g}]. "
                "Divide uint8 images by 255, and apply sigmoid to logits."
            )
    return x, x_rec


def _to_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # torch.Tensor, without importing torch here
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
    return a


def _per_image_sse(x: np.ndarray, x_rec: np.ndarray) -> np.ndarray:
    return ((x - x_rec) ** 2).reshape(len(x), -1).sum(axis=1)


def _psnr_from_mse(mse: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(1.0 / np.maximum(mse, _MSE_FLOOR))


def _ssim_window(h: int, w: int) -> int:
    side = min(h, w)
    if side < 3:
        raise DataError(f"SSIM needs images of at least 3x3 pixels; got {h}x{w}.")
    largest_odd = side if side % 2 == 1 else side - 1
    return min(7, largest_odd)
