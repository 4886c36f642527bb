"""Resolution loss: the image shrunk and brought back to its size, so an autoencoder trained
on it learns to upscale (the super-resolution study's conv autoencoder)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from . import CORRUPTIONS
from .base import Corruption, check_number


def shrink(x: Tensor, scale: int) -> Tensor:
    """(N, C, H, W) in [0, 1] -> antialiased bicubic shrink by `scale` (torch's port of
    Pillow's filter)."""
    h, w = x.shape[-2:]
    return F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True,
                         align_corners=False)


def bicubic_up(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Bicubic interpolation to `size`, clipped to [0, 1]."""
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


@CORRUPTIONS.register("downscale")
class Downscale(Corruption):
    """Shrink by `scale` (antialiased bicubic), then bicubic back to the image's size.

    Deterministic: the generator is not used. Nothing is hidden.
    """

    deterministic = True

    def __init__(self, scale: int = 2):
        self.scale = check_number("scale", "downscale", scale, 2, integer=True)

    def apply(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        return bicubic_up(shrink(x, self.scale), tuple(x.shape[-2:])), None
