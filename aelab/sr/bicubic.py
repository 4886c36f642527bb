"""Pillow's bicubic upscaling by an integer factor r, in torch (on any device, in float).

`aelab upscale` resizes the chroma planes of every frame: Pillow does it in one thread, on
8-bit planes, and needs numpy round trips; this does the same arithmetic on tensors. Pillow's
kernel is Keys' cubic with a = -0.5, sampled at ``(j + 0.5) / r - 0.5`` for output pixel j and
renormalised where it is cut by the image border. Away from the border every output pixel
``r q + p`` is a fixed 5-tap combination of input pixels ``q - 2 .. q + 2`` (the taps depend
only on the phase p), so each axis is r x 5 multiply-adds of shifted views; the two output
pixels nearest each border, whose taps Pillow cuts and renormalises, are redone with the exact
edge weights. Matches ``PIL.Image.resize(..., BICUBIC)`` on "F" (float) images to float
rounding (`aelab.sr.resize.upscale_plane`).
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np

_SUPPORT = 2.0
_EDGE = 2          # input pixels per side whose outputs Pillow renormalises
_BLOCK = 16        # input pixels per block of the matrix product


def _cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))


@cache
def pil_matrix(n: int, r: int) -> np.ndarray:
    """(r n, n) float64: Pillow's bicubic weights for upscaling an axis of n pixels r times
    (its ``precompute_coeffs``, for a filter scale of 1)."""
    return band_matrix(n, r, 0, n)


@lru_cache(maxsize=512)
def band_matrix(n: int, r: int, a: int, b: int) -> np.ndarray:
    """(r (b - a), min(b + 2, n) - max(a - 2, 0)) float64: the rows of `pil_matrix` for the
    outputs of input pixels [a, b), over the input pixels that reach them."""
    center = (np.arange(a * r, b * r) + 0.5) / r
    lo = np.maximum((center - _SUPPORT + 0.5).astype(int), 0)   # int(): truncation, as in C
    hi = np.minimum((center + _SUPPORT + 0.5).astype(int), n)
    x = np.arange(max(a - _EDGE, 0), min(b + _EDGE, n))
    w = _cubic(x[None, :] - center[:, None] + 0.5)
    w = np.where((x[None, :] >= lo[:, None]) & (x[None, :] < hi[:, None]), w, 0.0)
    return w / w.sum(axis=1, keepdims=True)


def band_rows(n: int, a: int, b: int) -> tuple[int, int]:
    """The input rows [lo, hi) that reach the outputs of input rows [a, b) of n."""
    return max(a - _EDGE, 0), min(b + _EDGE, n)


def upscale_band(rows, r: int, a: int, b: int, n: int):
    """Output rows r a .. r b of the vertical upscaling of an axis of n rows, from its input
    rows `band_rows(n, a, b)` (a (rows, ...) tensor): one matrix product with the band's exact
    weights (edges included), so an image upscales band by band into the rows the whole
    pass gives."""
    import torch

    w = torch.as_tensor(band_matrix(n, r, a, b), dtype=torch.float32, device=rows.device)
    return (w @ rows.reshape(rows.shape[0], -1)).reshape(w.shape[0], *rows.shape[1:])


@cache
def _weights(r: int):
    """(interior block matrix (r B, B + 4), left edge (2r, 4), right edge (2r, 4)).

    Row ``r i + p`` of the block matrix holds the 5 taps of phase p at columns i .. i + 4:
    a block of B input pixels with 2 of context on each side gives r B output pixels."""
    m = pil_matrix(8, r)
    q = 4
    taps = m[r * q:r * (q + 1), q - 2:q + 3]
    block = np.zeros((r * _BLOCK, _BLOCK + 4))
    for i in range(_BLOCK):
        block[r * i:r * (i + 1), i:i + 5] = taps
    return block, m[:_EDGE * r, :4], m[-_EDGE * r:, -4:]


def upscale_axis(x, r: int, dim: int, *, lo_edge: bool = True, hi_edge: bool = True):
    """Upscale tensor `x` r times along `dim` (-1 or -2) with Pillow's bicubic weights.

    Without `lo_edge` (`hi_edge`), `x` carries 2 extra pixels of real context before (after)
    the pixels to upscale, and no border is assumed there: a band of an image upscales to
    exactly the rows that the whole image gives.

    The axis is cut into blocks of `_BLOCK` pixels (overlapping views, with 2 of context on
    each side), and all blocks are multiplied by one small matrix: a matrix product instead
    of r x 5 strided multiply-adds, about 4x faster on a CPU.
    """
    import torch
    import torch.nn.functional as F

    x = x.float()
    last = dim % x.ndim == x.ndim - 1
    n = x.shape[dim] - (0 if lo_edge else _EDGE) - (0 if hi_edge else _EDGE)
    if n < 8 and lo_edge and hi_edge:             # a tiny axis: the dense matrix, exactly
        m = torch.as_tensor(pil_matrix(n, r), dtype=x.dtype, device=x.device)
        return x @ m.T if last else m @ x
    block, left, right = (torch.as_tensor(a, dtype=x.dtype, device=x.device)
                          for a in _weights(r))
    n_blocks = -(-n // _BLOCK)
    ends = [_EDGE if lo_edge else 0, n_blocks * _BLOCK - n + (_EDGE if hi_edge else 0)]
    flat = x.reshape(1, -1, *x.shape[-2:])
    xp = F.pad(flat, ends + [0, 0] if last else [0, 0] + ends, mode="replicate")
    xp = xp.reshape(*x.shape[:-2], *xp.shape[-2:])
    if last:                    # (..., rows, blocks, B + 4) @ (B + 4, r B)
        blocks = xp.unfold(-1, _BLOCK + 4, _BLOCK).contiguous()      # one copy, then one mm
        out = (blocks.view(-1, _BLOCK + 4) @ block.T).view(*blocks.shape[:-1], -1)
        out = out.flatten(-2)[..., :n * r]
        if lo_edge:
            out[..., :_EDGE * r] = x[..., :4] @ left.T
        if hi_edge:
            out[..., -_EDGE * r:] = x[..., -4:] @ right.T
        return out
    blocks = xp.unfold(-2, _BLOCK + 4, _BLOCK).transpose(-1, -2).contiguous()
    out = (block @ blocks).flatten(-3, -2)[..., :n * r, :]       # (..., blocks, B + 4, W)
    if lo_edge:
        out[..., :_EDGE * r, :] = left @ x[..., :4, :]
    if hi_edge:
        out[..., -_EDGE * r:, :] = right @ x[..., -4:, :]
    return out


def upscale(planes, r: int):
    """(..., h, w) -> (..., r h, r w), Pillow's bicubic (horizontal pass, then vertical)."""
    return upscale_axis(upscale_axis(planes, r, -1), r, -2)
