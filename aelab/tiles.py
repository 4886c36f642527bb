"""One tiler for every image-to-image model applied to images of any size: `aelab restore` (a
denoising autoencoder, tiles of its input size) and `aelab upscale` (ESPCN, tiles of any size).

The input (C, H, W) tensor is cut into a grid of tiles of side `tile` that overlap by `overlap`
(the last tile of a row or column flush with the end); `batch_size` tiles at a time go through
``fn`` and each output tile is added, weighted by a separable window, into one output
accumulator. The weights summed over the grid are separable (rows x columns), so each tile's
weights are divided by those sums beforehand and nothing is left to normalise at the end. Only the
accumulator grows with the image: ``fn`` never sees more than `batch_size` tiles.

Two things differ between models:

- ``margin``: an upscaler whose output pixel depends only on input pixels at most `halo` away
  (ESPCN) is handed the image already extended by its halo (with the model's own border
  padding) and returns, for each tile, the exact output of the tile's interior (the tile minus
  `margin` pixels on each side). Tiles cut from the extended image then give the untiled result
  up to float rounding, whatever the window, as long as the interiors overlap
  (``overlap > 2 * margin``). An autoencoder sees whole tiles (margin 0); overlapping tiles
  disagree a little and the window hides the seams.
- ``window``: the 1-D weight of a tile along one axis, ``window(length, first, last)``;
  `tent_window` (restore: highest in the middle, never 0) or `ramp_window` (upscale: 1, with a
  raised-cosine ramp across each overlap with a neighbour).

Everything stays on the tensor's device; tiles are views of the input and are copied once,
into the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

#: ``window(length, first, last) -> (length,) float64``: first/last say whether the tile
#: touches the start/end of the axis (no neighbour there).
Window = Callable[[int, bool, bool], np.ndarray]


def tile_starts(n: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size min(tile, n) covering [0, n), the last flush with n."""
    if n <= tile:
        return [0]
    starts = list(range(0, n - tile, tile - overlap))
    return starts + [n - tile]


def fit_tile(n: int, tile: int, overlap: int) -> int:
    """The smallest side <= `tile` that covers `n` with as few tiles as side `tile` does: the
    tiles shrink to share the axis evenly, so the last one is not mostly a repeat."""
    if n <= tile:
        return n
    k = len(tile_starts(n, tile, overlap))
    return min(tile, -(-(n + (k - 1) * overlap) // k))


def tent_window(length: int, first: bool = False, last: bool = False) -> np.ndarray:
    """Tent weight, 1 in the middle and small but > 0 at both ends (position-independent)."""
    t = (np.arange(length) + 0.5) / length
    return np.minimum(t, 1 - t) * 2 + 1e-3


def ramp_window(length: int, first: bool, last: bool, *, ramp: int) -> np.ndarray:
    """1, falling smoothly (raised cosine, `ramp` pixels) towards each side with a neighbour."""
    w = np.ones(length)
    edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, ramp + 1) / (ramp + 1))   # (0, 1), rising
    if not first:
        w[:ramp] = edge
    if not last:
        w[length - ramp:] = np.minimum(w[length - ramp:], edge[::-1])
    return w


def ramp(overlap_out: int) -> Window:
    """`ramp_window` with a ramp as long as the overlap of two neighbouring output tiles."""
    return partial(ramp_window, ramp=overlap_out)


class _Axis:
    """The tiling of one axis: input starts, input side, output offsets and weights."""

    def __init__(self, n: int, tile: int, overlap: int, scale: int, margin: int,
                 window: Window, shrink: bool):
        side = fit_tile(n, tile, overlap) if shrink else min(tile, n)
        self.side = side
        self.starts = tile_starts(n, side, overlap)
        self.length = (side - 2 * margin) * scale           # output pixels of one tile
        self.offsets = [s * scale for s in self.starts]     # where they go in the output
        self.size = (n - 2 * margin) * scale
        last = len(self.starts) - 1
        weights = [window(self.length, i == 0, i == last) for i in range(last + 1)]
        norm = np.zeros(self.size)
        for o, w in zip(self.offsets, weights, strict=True):
            norm[o:o + self.length] += w
        # The weights summed over a grid of tiles are separable, so dividing each tile's
        # weights by this axis's sum leaves nothing to normalise at the end.
        self.weights = [w / norm[o:o + self.length]
                        for o, w in zip(self.offsets, weights, strict=True)]


def tiled_map(fn, x, *, tile: int | tuple[int, int] | None, overlap: int | tuple[int, int],
              window: Window, scale: int = 1, margin: int = 0, batch_size: int = 8,
              shrink: bool = False, subpixel: bool = False):
    """Apply `fn` to a (C, H, W) tensor tile by tile; returns the blended float32 output
    (C', (H - 2 margin) scale, (W - 2 margin) scale) on `x`'s device.

    Parameters
    ----------
    fn : callable
        (B, C, th, tw) tiles -> (B, C', (th - 2 margin) scale, (tw - 2 margin) scale), any
        float dtype (accumulated in float32); with `subpixel`, (B, C' scale**2, th - 2 margin,
        tw - 2 margin) in ``pixel_shuffle`` order (ESPCN's last layer), interleaved here as
        it is accumulated, which saves a pass over every output tile.
    x : torch.Tensor
        (C, H, W), already extended by `margin` on each side where the model needs it.
    tile : int or (int, int) or None
        Tile side(s) in input pixels; None (or anything >= the image) is one tile.
    overlap : int or (int, int)
        Input pixels shared by neighbouring tiles, per axis.
    window : Window
        The 1-D blending weight (see `tent_window`, `ramp`).
    shrink : bool
        Shrink the tiles (at most `tile`) so that they share each axis evenly.
    """
    import torch

    _, h, w = x.shape
    th, tw = (tile, tile) if not isinstance(tile, tuple) else tile
    th, tw = th or h, tw or w
    oh, ow = (overlap, overlap) if not isinstance(overlap, tuple) else overlap
    r = scale
    rows = _Axis(h, th, oh, r, margin, window, shrink)
    cols = _Axis(w, tw, ow, r, margin, window, shrink)
    positions = [(i, j) for i in range(len(rows.starts)) for j in range(len(cols.starts))]

    def as_tensor(a):
        return torch.as_tensor(a, dtype=torch.float32, device=x.device)

    wy, wx = [as_tensor(v) for v in rows.weights], [as_tensor(v) for v in cols.weights]
    acc = None
    for k in range(0, len(positions), batch_size):
        chunk = positions[k:k + batch_size]
        batch = torch.stack([x[:, rows.starts[i]:rows.starts[i] + rows.side,
                               cols.starts[j]:cols.starts[j] + cols.side] for i, j in chunk])
        out = fn(batch)
        if len(positions) == 1:    # one tile: its window is normalised away, nothing to blend
            return (torch.nn.functional.pixel_shuffle(out, r) if subpixel else out)[0].float()
        if acc is None:
            c = out.shape[1] // (r * r if subpixel else 1)
            acc = torch.zeros((c, rows.size, cols.size), dtype=torch.float32, device=x.device)
        for (i, j), o in zip(chunk, out, strict=True):
            y0, x0 = rows.offsets[i], cols.offsets[j]
            weight = wy[i][:, None] * wx[j][None, :]
            if subpixel:           # acc as (C, H/r, r, W/r, r); o as (C, r, r, h, w)
                n, m = rows.length // r, cols.length // r
                region = acc.view(c, rows.size // r, r, cols.size // r, r)[
                    :, y0 // r:y0 // r + n, :, x0 // r:x0 // r + m]
                region.addcmul_(o.view(c, r, r, n, m).permute(0, 3, 1, 4, 2),
                                weight.view(n, r, m, r))
            else:
                acc[:, y0:y0 + rows.length, x0:x0 + cols.length].addcmul_(o, weight)
    return acc


def tensor_of(array, device):
    """A numpy image as a tensor on `device`, without a copy where one is not needed (a
    read-only array, as Pillow hands out, is copied: torch tensors are always writable)."""
    import torch

    array = np.asarray(array)
    return torch.as_tensor(array if array.flags.writeable else array.copy(), device=device)


def n_tiles(h: int, w: int, tile: int, overlap: int, *, shrink: bool = False) -> int:
    """How many tiles `tiled_map` cuts an (h, w) input into."""
    def count(n):
        side = fit_tile(n, tile, overlap) if shrink else min(tile, n)
        return len(tile_starts(n, side, overlap))
    return count(h) * count(w)


__all__ = ["fit_tile", "n_tiles", "ramp", "ramp_window", "tensor_of", "tent_window",
           "tile_starts", "tiled_map"]
