"""Sliced (tiled) inference: upscale an image of any size a few tiles at a time.

The low-resolution image is cut into tiles of `tile` pixels that overlap by `overlap`; each
batch of `batch_size` tiles goes through the model and is added, weighted by a window, into
one output accumulator. The window of a tile is 1 in its middle, falls smoothly (raised
cosine) across the overlap, and is 0 on the `halo` pixels next to an inner tile edge, where
the model's receptive field reaches past the tile and sees the tile's padding instead of the
neighbour. Tiles that touch the image border keep weight 1 up to it: there the untiled pass
pads the same way (the model extends every input it gets, tile or image, alike). So every
output pixel is a weighted mean of tile outputs that each equal the untiled output there, and
the tiled result equals the untiled one up to float rounding whenever ``overlap > 2 * halo``
(checked), with no seams.

Memory: the model sees `batch_size` tiles at a time; what grows with the image is the output
accumulator (C x rH x rW float32). The normalising weight sum is separable (rows x columns),
so it costs two vectors, not a second image.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError


def tile_starts(n: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size min(tile, n) covering [0, n), the last flush with n."""
    if n <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, n - tile, stride))
    return starts + [n - tile]


def _window(length: int, start: int, end: int, n: int, halo: int, ramp: int) -> np.ndarray:
    """1-D weights (float64) of one tile covering HR [start, end) of an axis of HR length n."""
    w = np.ones(length)
    edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, ramp + 1) / (ramp + 1))  # (0, 1), rising
    if start > 0:                 # an inner edge on the left: no weight in the halo, then ramp
        w[:halo] = 0.0
        w[halo:halo + ramp] = edge
    if end < n:
        w[length - halo:] = 0.0
        w[length - halo - ramp:length - halo] = np.minimum(w[length - halo - ramp:length - halo],
                                                           edge[::-1])
    return w


def check_tiling(model: nn.Module, tile: int, overlap: int) -> None:
    halo = int(getattr(model, "halo", 0))
    if tile < 1 or overlap < 0 or overlap >= tile:
        raise ConfigError(f"tile must be positive and overlap in [0, tile); got tile={tile}, "
                          f"overlap={overlap}.")
    if overlap <= 2 * halo:
        raise ConfigError(f"overlap {overlap} is too small for this model: its receptive field "
                          f"reaches {halo} low-resolution pixels, so tiles must overlap by more "
                          f"than {2 * halo} (e.g. --overlap {2 * halo + 8}) to match the untiled "
                          f"output without seams.")
    if tile <= overlap + 1:
        raise ConfigError(f"tile {tile} must be larger than overlap + 1 = {overlap + 1}.")


@torch.no_grad()
def upscale_tiled(model: nn.Module, lr: np.ndarray, *, tile: int = 128, overlap: int = 16,
                  batch_size: int = 8) -> np.ndarray:
    """Upscale a float (C, h, w) array (values in [0, 1]) tile by tile; float32 (C, rh, rw).

    Parameters
    ----------
    model : nn.Module
        An upscaler with ``scale`` and ``halo`` attributes (e.g. ESPCN), in eval mode.
    lr : numpy.ndarray
        (C, h, w) float input.
    tile, overlap : int
        Tile side and overlap in low-resolution pixels; ``overlap > 2 * model.halo``.
    batch_size : int
        Tiles per forward pass: this, not the image size, bounds the model's memory.
    """
    check_tiling(model, tile, overlap)
    model.eval()
    r, halo = int(model.scale), int(model.halo)
    c, h, w = lr.shape
    device = next(model.parameters()).device
    th, tw = min(tile, h), min(tile, w)
    rows, cols = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    ramp = (overlap - 2 * halo) * r
    wy = [_window(th * r, y * r, (y + th) * r, h * r, halo * r, ramp) for y in rows]
    wx = [_window(tw * r, x * r, (x + tw) * r, w * r, halo * r, ramp) for x in cols]
    acc = np.zeros((c, h * r, w * r), np.float32)
    positions = [(i, j) for i in range(len(rows)) for j in range(len(cols))]
    for k in range(0, len(positions), batch_size):
        chunk = positions[k:k + batch_size]
        x = np.stack([lr[:, rows[i]:rows[i] + th, cols[j]:cols[j] + tw] for i, j in chunk])
        out = model(torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(device)).cpu().numpy()
        for (i, j), o in zip(chunk, out, strict=True):
            y0, x0 = rows[i] * r, cols[j] * r
            acc[:, y0:y0 + th * r, x0:x0 + tw * r] += o * np.outer(wy[i], wx[j]).astype(np.float32)
    norm_y = np.zeros(h * r)
    norm_x = np.zeros(w * r)
    for y, wv in zip(rows, wy, strict=True):
        norm_y[y * r:(y + th) * r] += wv
    for x, wv in zip(cols, wx, strict=True):
        norm_x[x * r:(x + tw) * r] += wv
    # Divide row block by row block so no full-size float64 temporary appears.
    inv_x = (1.0 / norm_x).astype(np.float32)
    step = max(1, (1 << 22) // max(1, w * r))
    for y0 in range(0, h * r, step):
        inv_y = (1.0 / norm_y[y0:y0 + step]).astype(np.float32)
        acc[:, y0:y0 + step] *= inv_y[None, :, None] * inv_x[None, None, :]
    return acc


@torch.no_grad()
def upscale_whole(model: nn.Module, lr: np.ndarray) -> np.ndarray:
    """The untiled pass: the whole (C, h, w) image at once; float32 (C, rh, rw)."""
    model.eval()
    device = next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(lr[None], np.float32)).to(device)
    return model(x)[0].cpu().numpy()


def n_tiles(h: int, w: int, tile: int, overlap: int) -> int:
    return len(tile_starts(h, tile, overlap)) * len(tile_starts(w, tile, overlap))


__all__ = ["check_tiling", "n_tiles", "tile_starts", "upscale_tiled", "upscale_whole"]
