"""Score upscalers on test sets: bicubic, Lanczos and a trained model, PSNR/SSIM on Y.

Protocol (SRCNN/ESPCN's): crop each HR image to a multiple of r, take its luminance Y
(float, [16, 235]; a grey image is its own luminance, as in SRCNN's code: see
`color.luminance`), make the LR input by the bicubic shrink of Y, upscale it back, and
compare on Y with `border` = r pixels cropped from each side (see `metrics`). A model with
``color="rgb"`` gets the shrunk RGB planes and is scored on the Y of its output.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from .color import luminance, rgb_to_y
from .datasets import SRImage
from .images import to_planes, upscale_planes
from .metrics import psnr_y, ssim_y
from .resize import downscale, modcrop, upscale_plane

INTERPOLATIONS = ("bicubic", "lanczos")


def _y_of(planes: np.ndarray, color: str, grey: bool) -> np.ndarray:
    """The luminance of a model's output planes, on the scale `luminance` gives the HR image."""
    if color != "rgb":
        return planes[0]
    y = rgb_to_y(np.moveaxis(planes, 0, 2))
    return (y - 16.0) * np.float32(255.0 / 219.0) if grey else y


def score_image(image: SRImage, scale: int, model: nn.Module | None = None,
                methods: Sequence[str] = INTERPOLATIONS, degradation: str = "bicubic", *,
                device=None, precision: str = "fp32") -> list[dict]:
    """One record per method for one image: ``{"image", "method", "psnr_y_db", "ssim_y"}``;
    the model runs on `device` (default CPU) at `precision` (``fp32`` or ``bf16``)."""
    hr = modcrop(image.pixels, scale)
    y_hr = luminance(hr)
    y_lr = downscale(y_hr, scale, degradation)
    estimates = {m: upscale_plane(y_lr, scale, m) for m in methods}
    if model is not None:
        color = model.color
        hr_planes = to_planes(hr, color)
        lr_planes = np.stack([downscale(p, scale, degradation) for p in hr_planes])
        sr = upscale_planes(model, lr_planes, device=device, precision=precision)
        estimates["espcn"] = _y_of(sr, color, hr.ndim == 2)
    return [{"image": image.name, "method": m, "psnr_y_db": psnr_y(y_hr, est, scale),
             "ssim_y": ssim_y(y_hr, est, scale)} for m, est in estimates.items()]


def score_set(images: Sequence[SRImage], scale: int, model: nn.Module | None = None,
              methods: Sequence[str] = INTERPOLATIONS, *, device=None,
              precision: str = "fp32") -> tuple[list[dict], list[dict]]:
    """(per-image records, per-method means) over a set; means are plain averages over images,
    as the published tables report."""
    per_image = [rec for image in images for rec in score_image(
        image, scale, model, methods, device=device, precision=precision)]
    means = []
    for method in dict.fromkeys(rec["method"] for rec in per_image):
        rows = [rec for rec in per_image if rec["method"] == method]
        means.append({"method": method, "scale": scale, "n_images": len(rows),
                      "psnr_y_db": float(np.mean([r["psnr_y_db"] for r in rows])),
                      "ssim_y": float(np.mean([r["ssim_y"] for r in rows]))})
    return per_image, means
