"""Erasing corruptions: part of the image is replaced, and that part is the hidden region
(returned by `apply`) on which the inpainting error is measured."""

from __future__ import annotations

import torch
from torch import Tensor

from . import CORRUPTIONS
from .base import Corruption, check_number, randint, uniform


@CORRUPTIONS.register("stripes")
class Stripes(Corruption):
    """`n` random horizontal bands of `height` rows set to `value` (0: black).

    Rows are drawn independently per image (with replacement, so bands may overlap).
    """

    def __init__(self, n: int = 10, height: int = 1, value: float = 0.0):
        self.n = check_number("n", "stripes", n, 0, integer=True)
        self.height = check_number("height", "stripes", height, 1, integer=True)
        self.value = check_number("value", "stripes", value, 0.0, 1.0)

    def apply(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        b, _, h, _ = x.shape
        top = randint(max(h - self.height + 1, 1), (b, self.n), generator, x.device)
        rows = torch.arange(h, device=x.device)                              # (H,)
        hit = (rows[None, None] >= top[..., None]) & \
              (rows[None, None] < top[..., None] + self.height)              # (B, n, H)
        hidden = hit.any(1)[:, None, :, None].expand(b, 1, h, x.shape[-1])   # (B, 1, H, W)
        return x.masked_fill(hidden, self.value), hidden.contiguous()


@CORRUPTIONS.register("block")
class Block(Corruption):
    """A `size` x `size` square of grey `value` at a random place (inside the image)."""

    def __init__(self, size: int = 10, value: float = 0.5):
        self.size = check_number("size", "block", size, 1, integer=True)
        self.value = check_number("value", "block", value, 0.0, 1.0)

    def apply(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        b, _, h, w = x.shape
        k_h, k_w = min(self.size, h), min(self.size, w)
        top = randint(h - k_h + 1, (b,), generator, x.device)
        left = randint(w - k_w + 1, (b,), generator, x.device)
        rows = torch.arange(h, device=x.device)[None, :, None]
        cols = torch.arange(w, device=x.device)[None, None, :]
        hidden = ((rows >= top[:, None, None]) & (rows < (top + k_h)[:, None, None]) &
                  (cols >= left[:, None, None]) & (cols < (left + k_w)[:, None, None]))
        hidden = hidden[:, None]                                              # (B, 1, H, W)
        return x.masked_fill(hidden, self.value), hidden


@CORRUPTIONS.register("mask")
class Mask(Corruption):
    """Random pixel dropout: each pixel (all channels) is set to `value` with probability
    `fraction`."""

    def __init__(self, fraction: float = 0.25, value: float = 0.0):
        self.fraction = check_number("fraction", "mask", fraction, 0.0, 1.0)
        self.value = check_number("value", "mask", value, 0.0, 1.0)

    def apply(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        b, _, h, w = x.shape
        hidden = uniform((b, 1, h, w), generator, x.device) < self.fraction
        return x.masked_fill(hidden, self.value), hidden
