"""Random affine jitter of the input batch for the clustering studies (`priors`,
`clustering`): each image is rotated, scaled and shifted by a small random amount while the
reconstruction target stays the clean image, so the autoencoder learns a code that ignores
small pose changes -- distances between codes then follow the shape of a character more than
its placement, which is what k-means on the codes needs.

It has the signature of a corruption (``x_in = jitter(x, generator)``, see
`aelab.corruptions`) and is passed to `aelab.train.fit` as ``corrupt``; randomness comes only
from the generator the loop hands in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError


@dataclass(frozen=True)
class AffineJitter:
    """Rotate by up to `rotate` degrees, scale by 1 +/- `scale`, shift by up to `shift`
    pixels (each drawn uniformly, independently per image); bilinear, zero padding."""

    rotate: float = 10.0
    scale: float = 0.1
    shift: float = 2.0

    def __post_init__(self):
        for name in ("rotate", "scale", "shift"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"augment.{name} must be a number >= 0; got {value!r}.")
        if self.scale >= 1:
            raise ConfigError(f"augment.scale must be below 1 (a factor 1 +/- scale); got "
                              f"{self.scale!r}.")

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:   # (B, C, H, W)
        b, _, h, w = x.shape
        u = torch.rand(b, 4, generator=generator, device=generator.device).to(x.device) * 2 - 1
        angle = u[:, 0] * math.radians(self.rotate)
        s = 1 + u[:, 1] * self.scale
        tx, ty = u[:, 2] * self.shift * 2 / w, u[:, 3] * self.shift * 2 / h  # grid units
        cos, sin = s * torch.cos(angle), s * torch.sin(angle)
        theta = torch.stack([torch.stack([cos, -sin, tx], 1),
                             torch.stack([sin, cos, ty], 1)], 1).to(x.dtype)    # (B, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def affine_jitter(options: dict | None) -> AffineJitter | None:
    """An `AffineJitter` from a study option (``{}`` for the defaults), or None for none."""
    if options is None:
        return None
    if not isinstance(options, dict):
        raise ConfigError(f"augment must be a table like {{rotate = 10, scale = 0.1, shift = 2}}"
                          f" or unset; got {options!r}.")
    allowed = {"rotate", "scale", "shift"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(f"augment has no option {unknown[0]!r}; its options: "
                          f"{', '.join(sorted(allowed))}.")
    return AffineJitter(**options)
