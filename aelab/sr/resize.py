"""Resizing and degradation: how low-resolution inputs are made from high-resolution images.

Bicubic resizing uses Pillow on float32 ("F" mode) images, so no rounding to 8 bits happens in
between. Pillow's bicubic kernel is Keys' cubic with a = -0.5 and, when shrinking, is widened
by the scale factor (antialiasing), as MATLAB's ``imresize`` does, which the published
bicubic baselines use. Borders differ slightly (MATLAB mirrors the image, Pillow renormalises
the kernel), which moves PSNRs by a few hundredths of a dB.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from ..errors import ConfigError

DEGRADATIONS = ("bicubic", "blur")
_FILTERS = {"bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS, "bilinear": Image.BILINEAR}


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right so height and width are multiples of `scale`."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def resize(plane: np.ndarray, size: tuple[int, int], method: str = "bicubic") -> np.ndarray:
    """Resize one float (H, W) plane to ``size = (height, width)`` with Pillow; float32."""
    if method not in _FILTERS:
        raise ConfigError(f"resize method must be one of {', '.join(_FILTERS)}; got {method!r}.")
    img = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    return np.asarray(img.resize((size[1], size[0]), _FILTERS[method]), dtype=np.float32)


def downscale(plane: np.ndarray, scale: int, degradation: str = "bicubic",
              blur_sigma: float | None = None) -> np.ndarray:
    """The low-resolution version of an (H, W) plane whose sides are multiples of `scale`.

    ``"bicubic"``: antialiased bicubic shrink (the standard benchmark degradation).
    ``"blur"``: Gaussian blur (sigma `blur_sigma`, default ``0.4 * scale``) then keep every
    `scale`-th pixel, as in the ESPCN paper.
    """
    h, w = plane.shape
    if h % scale or w % scale:
        raise ValueError(f"plane of shape {plane.shape} is not a multiple of scale {scale}; "
                         "modcrop it first")
    if degradation == "bicubic":
        return resize(plane, (h // scale, w // scale), "bicubic")
    if degradation == "blur":
        sigma = 0.4 * scale if blur_sigma is None else blur_sigma
        off = scale // 2
        return gaussian_filter(plane.astype(np.float32), sigma, mode="reflect")[off::scale,
                                                                                off::scale]
    raise ConfigError(f"degradation must be one of {', '.join(DEGRADATIONS)}; "
                      f"got {degradation!r}.")


def upscale_plane(plane: np.ndarray, scale: int, method: str = "bicubic") -> np.ndarray:
    """Interpolate an (h, w) plane to (scale*h, scale*w) with `method` (bicubic, lanczos)."""
    h, w = plane.shape
    return resize(plane, (h * scale, w * scale), method)


def upscale_uint8(plane: np.ndarray, scale: int, method: str = "bicubic") -> np.ndarray:
    """Interpolate a uint8 (h, w) plane to (scale*h, scale*w), staying in 8 bits (1 byte a
    pixel: for chroma planes of very large images)."""
    h, w = plane.shape
    img = Image.fromarray(np.ascontiguousarray(plane, dtype=np.uint8), mode="L")
    return np.asarray(img.resize((w * scale, h * scale), _FILTERS[method]), dtype=np.uint8)
