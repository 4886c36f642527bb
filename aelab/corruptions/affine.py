"""Affine jitter: each image rotated, scaled and shifted by a small random amount.

Used by the clustering studies (`priors`, `clustering`): the reconstruction target stays the
clean image, so the autoencoder learns a code that ignores small pose changes -- distances
between codes then follow the shape of a character more than its placement, which is what
k-means on the codes needs. Nothing is hidden (`apply` returns no region).
"""

from __future__ import annotations

import json
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError
from . import CORRUPTIONS
from .base import Corruption, check_number


@CORRUPTIONS.register("affine")
class AffineJitter(Corruption):
    """Rotate by up to `rotate` degrees, scale by 1 +/- `scale`, shift by up to `shift`
    pixels (each drawn uniformly, independently per image); bilinear, zero padding.

    Parameters
    ----------
    rotate : float
        Largest rotation in degrees (>= 0).
    scale : float
        Largest relative change of size, in [0, 1).
    shift : float
        Largest shift in pixels, along each axis (>= 0).
    """

    def __init__(self, rotate: float = 10.0, scale: float = 0.1, shift: float = 2.0):
        # Stored as given, so the repr (kept in study records) reads as the options did.
        self.rotate = check_number("rotate", "affine", rotate, 0.0)
        self.scale = check_number("scale", "affine", scale, 0.0)
        self.shift = check_number("shift", "affine", shift, 0.0)
        if scale >= 1:
            raise ConfigError(f"corruption 'affine': scale must be below 1 (a factor 1 +/- "
                              f"scale); got {scale!r}.")

    def apply(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        b, _, h, w = x.shape                                                 # (B, C, H, W)
        u = torch.rand(b, 4, generator=generator, device=generator.device).to(x.device) * 2 - 1
        angle = u[:, 0] * math.radians(self.rotate)
        s = 1 + u[:, 1] * self.scale
        tx, ty = u[:, 2] * self.shift * 2 / w, u[:, 3] * self.shift * 2 / h  # grid units
        cos, sin = s * torch.cos(angle), s * torch.sin(angle)
        theta = torch.stack([torch.stack([cos, -sin, tx], 1),
                             torch.stack([sin, cos, ty], 1)], 1).to(x.dtype)    # (B, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros"), None

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None


def affine_corruption(options: dict | str | None, *, key: str = "augment") -> list[dict]:
    """A run config's ``corruption`` list from an affine-jitter option: ``[]`` for None or
    ``"none"``, else one ``affine`` table with `options` ({rotate, scale, shift}; ``{}`` for
    the defaults), checked; a bad one is a ConfigError that names `key` and the value.

    Examples
    --------
    >>> affine_corruption({"shift": 1.0})
    [{'name': 'affine', 'shift': 1.0}]
    >>> affine_corruption("none")
    []
    """
    if options is None or options == "none":
        return []
    from . import build

    shown = json.dumps(options, default=repr)
    if not isinstance(options, dict):
        raise ConfigError(f"{key} = {shown} is not an affine jitter; give a table like "
                          "{rotate = 10, scale = 0.1, shift = 2}, or \"none\".")
    spec = [{"name": "affine", **options}]
    try:
        build(spec)                                 # checks the keys and values
    except ConfigError as e:
        raise ConfigError(f"{key} = {shown}: {e}") from None
    return spec
