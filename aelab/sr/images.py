"""From photos to the planes an upscaler sees, and back: the colour handling of ESPCN.

``color="y"`` (the paper's choice): the network sees the luminance Y of YCbCr (studio range),
the chroma planes are upscaled bicubically, and the result is converted back to RGB.
``"grey"``: one grey plane (luma of RGB inputs). ``"rgb"``: the three RGB planes.
Planes are float32 (C, H, W) with values in [0, 255]; the network sees them divided by 255.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from .. import _cpu
from .color import as_rgb, luminance, rgb_to_ycbcr, ycbcr_to_rgb
from .resize import upscale_uint8
from .tiled import upscale_tiled, upscale_whole


def to_planes(image: np.ndarray, color: str) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) -> float32 (C, H, W) in [0, 255] for the colour mode."""
    if color == "y":                 # a grey image is its own luminance (see `luminance`)
        return luminance(image)[None]
    if color == "grey":
        if image.ndim == 2:
            return image.astype(np.float32)[None]
        return (image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))[None]
    return np.moveaxis(as_rgb(image).astype(np.float32), 2, 0)


def upscale_planes(model: nn.Module, planes: np.ndarray, *, tile: int | None = None,
                   overlap: int = 16, batch_size: int = 8) -> np.ndarray:
    """Planes in [0, 255] -> upscaled planes in [0, 255] (clipped), tiled when `tile` is set."""
    lr = planes / np.float32(255.0)
    if tile is None:
        out = upscale_whole(model, lr)
    else:
        out = upscale_tiled(model, lr, tile=tile, overlap=overlap, batch_size=batch_size)
    out *= 255.0
    return np.clip(out, 0.0, 255.0, out=out)


def upscale_image(model: nn.Module, image: np.ndarray, *, tile: int | None = 128,
                  overlap: int = 16, batch_size: int = 8) -> np.ndarray:
    """Upscale a uint8 (H, W) or (H, W, 3) image by ``model.scale``; uint8, same layout.

    With ``color="y"`` only the luminance goes through the network; Cb and Cr are resized
    bicubically (8-bit, to keep memory low: one byte a pixel). The output is assembled row
    block by row block, so besides the uint8 result the peak is one float32 plane of the
    output size (the tile accumulator).
    """
    _cpu.configure()
    r, color = int(model.scale), model.color
    h, w = image.shape[:2]
    if color == "grey" or (color == "y" and image.ndim == 2):
        planes = to_planes(image, "grey" if color == "grey" else "y")
        out = upscale_planes(model, planes, tile=tile, overlap=overlap, batch_size=batch_size)[0]
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if color == "rgb":
        out = upscale_planes(model, to_planes(image, "rgb"), tile=tile, overlap=overlap,
                             batch_size=batch_size)
        return np.rint(np.moveaxis(out, 0, 2)).astype(np.uint8)
    ycc = rgb_to_ycbcr(image)
    y = upscale_planes(model, ycc[None, :, :, 0].copy(), tile=tile, overlap=overlap,
                       batch_size=batch_size)[0]
    chroma = [upscale_uint8(np.clip(np.rint(ycc[:, :, k]), 0, 255).astype(np.uint8), r)
              for k in (1, 2)]
    del ycc
    result = np.empty((h * r, w * r, 3), np.uint8)
    step = max(1, (1 << 20) // (w * r))
    for y0 in range(0, h * r, step):
        block = np.stack([y[y0:y0 + step], chroma[0][y0:y0 + step], chroma[1][y0:y0 + step]],
                         axis=-1)
        result[y0:y0 + step] = ycbcr_to_rgb(block)
    return result
