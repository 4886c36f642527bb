"""Restoration metrics: how much closer to the clean image is the restored one than the input?

Arrays in, ``dict[str, float]`` out, like :mod:`aelab.evaluate.metrics`. Images are
(N, C, H, W) floats in [0, 1]. PSNR is the mean over images of the per-image PSNR with data
range 1 (``10 log10(1 / MSE_i)``), not the PSNR of the mean MSE; SSIM is the mean of the
per-image SSIM (skimage, data range 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError
from . import metrics

__all__ = ["restoration", "hidden_region", "scores"]


def scores(x: Any, x_hat: Any) -> dict[str, float]:
    """``psnr_db`` (mean of per-image PSNRs, data range 1), ``ssim`` and ``mse`` of `x_hat`
    against the clean `x`."""
    m = metrics.reconstruction(x, x_hat)
    return {"psnr_db": m["psnr_db"], "ssim": m["ssim"], "mse": m["mse"]}


def hidden_region(x: Any, x_hat: Any, hidden: Any) -> dict[str, float]:
    """Error inside the hidden region only (inpainting): ``mse`` over hidden pixels (all
    channels) and ``psnr_db``, the mean over images that hide something of
    ``10 log10(1 / MSE_i)`` with MSE_i over that image's hidden pixels.

    `hidden` is bool (N, 1, H, W) or (N, C, H, W).
    """
    x, x_hat = metrics._check_pair(x, x_hat)
    hidden = np.asarray(hidden, dtype=bool)
    if hidden.ndim != 4 or hidden.shape[0] != x.shape[0] or hidden.shape[2:] != x.shape[2:]:
        raise DataError(f"hidden must be a bool mask (N, 1, H, W) matching the images "
                        f"{x.shape}; got {hidden.shape}.")
    hidden = np.broadcast_to(hidden, x.shape)
    err = (x.astype(np.float64) - x_hat.astype(np.float64)) ** 2 * hidden
    n = hidden.reshape(len(x), -1).sum(1)
    sse = err.reshape(len(x), -1).sum(1)
    has = n > 0
    if not has.any():
        return {"mse": float("nan"), "psnr_db": float("nan"), "fraction": 0.0}
    mse_i = sse[has] / n[has]
    return {"mse": float(sse.sum() / n.sum()),
            "psnr_db": float(metrics._psnr_from_mse(mse_i).mean()),
            "fraction": float(n.sum() / hidden.size)}


def restoration(x: Any, x_in: Any, x_rec: Any, hidden: Any = None) -> dict[str, float]:
    """Metrics of the restored images and of the corrupted inputs, both against clean `x`.

    Returns
    -------
    dict[str, float]
        ``restored_{psnr_db,ssim,mse}``, ``corrupted_{psnr_db,ssim,mse}``, ``gain_psnr_db``
        (restored minus corrupted) and, when `hidden` is given, ``hidden_restored_{mse,
        psnr_db}``, ``hidden_corrupted_{mse,psnr_db}`` and ``hidden_fraction``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.full((2, 1, 8, 8), 0.5)
    >>> m = restoration(x, x + 0.1, x + 0.01)
    >>> round(m["corrupted_psnr_db"], 1), round(m["restored_psnr_db"], 1)
    (20.0, 40.0)
    """
    out = {f"restored_{k}": v for k, v in scores(x, x_rec).items()}
    out |= {f"corrupted_{k}": v for k, v in scores(x, x_in).items()}
    out["gain_psnr_db"] = out["restored_psnr_db"] - out["corrupted_psnr_db"]
    if hidden is not None:
        r, c = hidden_region(x, x_rec, hidden), hidden_region(x, x_in, hidden)
        out |= {"hidden_restored_mse": r["mse"], "hidden_restored_psnr_db": r["psnr_db"],
                "hidden_corrupted_mse": c["mse"], "hidden_corrupted_psnr_db": c["psnr_db"],
                "hidden_fraction": r["fraction"]}
    return out
