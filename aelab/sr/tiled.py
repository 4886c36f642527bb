"""Sliced (tiled) inference of an upscaler, on numpy arrays: `upscale_tiled` and its untiled
reference `upscale_whole`, both through the one tiler, `aelab.tiles`.

The image is first extended by the model's receptive-field radius `halo` (with the model's
own border padding, as the untiled pass does). Tiles of `tile` pixels of that extended image,
overlapping by `overlap`, go through the model without padding, so each tile yields the exact
output of its interior (the tile less `halo` pixels on each side); neighbouring interiors
overlap by ``overlap - 2 * halo`` pixels and are blended with a raised-cosine ramp. Every
output pixel is then a weighted mean of values that each equal the untiled output there, so
the tiled result equals the untiled one up to float rounding whenever ``overlap > 2 * halo``
(checked), with no seams.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from ..errors import ConfigError
from ..tiles import n_tiles, tile_starts


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


def upscale_tiled(model: nn.Module, lr: np.ndarray, *, tile: int = 128, overlap: int = 16,
                  batch_size: int = 8, device=None, precision: str = "fp32") -> np.ndarray:
    """Upscale a float (C, h, w) array (values in [0, 1]) tile by tile; float32 (C, rh, rw).

    Parameters
    ----------
    model : nn.Module
        An upscaler with ``scale`` and ``halo`` attributes and ``extend`` / ``infer`` methods
        (ESPCN).
    lr : numpy.ndarray
        (C, h, w) float input.
    tile, overlap : int
        Tile side (halo included) and overlap in low-resolution pixels;
        ``overlap > 2 * model.halo``.
    batch_size : int
        Tiles per forward pass: this, not the image size, bounds the model's memory.
    device, precision
        Where the model runs (default CPU) and at which precision (``fp32`` or ``bf16``).
    """
    return _upscale(model, lr, tile, overlap, batch_size, device, precision)


def upscale_whole(model: nn.Module, lr: np.ndarray, *, device=None,
                  precision: str = "fp32") -> np.ndarray:
    """The untiled pass: the whole (C, h, w) image at once; float32 (C, rh, rw)."""
    return _upscale(model, lr, None, 0, 1, device, precision)


def _upscale(model, lr, tile, overlap, batch_size, device, precision) -> np.ndarray:
    import torch

    from .images import _prepare, upscale_tensor

    device, model = _prepare(model, device)
    x = torch.as_tensor(np.asarray(lr, np.float32), device=device)
    return upscale_tensor(model, x, tile=tile, overlap=overlap, batch_size=batch_size,
                          precision=precision).cpu().numpy()


__all__ = ["check_tiling", "n_tiles", "tile_starts", "upscale_tiled", "upscale_whole"]
