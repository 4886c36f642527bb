"""Noise corruptions: every pixel may change, nothing is hidden."""

from __future__ import annotations

import torch
from torch import Tensor

from . import CORRUPTIONS
from .base import Corruption, check_number, uniform


@CORRUPTIONS.register("gaussian")
class Gaussian(Corruption):
    """``x + factor * N(0, 1)``, clipped to [0, 1] (the Keras denoising example's noise).

    Parameters
    ----------
    factor : float
        The noise factor (standard deviation before clipping), e.g. 0.3 to 0.9.
    max_factor : float, optional
        If set, each image gets its own factor drawn uniformly from [factor, max_factor]
        (one model trained across noise levels).
    clip : bool, default True
        Clip to [0, 1]. Clipping makes the noise far from zero-mean on dark and bright
        pixels, which is what biases classical denoisers.
    """

    def __init__(self, factor: float = 0.5, max_factor: float | None = None, clip: bool = True):
        self.factor = check_number("factor", "gaussian", factor, 0.0)
        self.max_factor = None if max_factor is None else \
            check_number("max_factor", "gaussian", max_factor, factor)
        self.clip = bool(clip)

    def apply(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        noise = torch.randn(x.shape, generator=generator, device=generator.device).to(x.device)
        if self.max_factor is None:
            f = self.factor
        else:
            u = uniform((len(x), 1, 1, 1), generator, x.device)
            f = self.factor + (self.max_factor - self.factor) * u
        x_in = x + f * noise
        return (x_in.clamp_(0.0, 1.0) if self.clip else x_in), None


@CORRUPTIONS.register("salt_pepper")
class SaltPepper(Corruption):
    """Set a fraction `amount` of the pixels to 0 (pepper) or 1 (salt), all channels alike.

    `salt` is the share of salt among the changed pixels.
    """

    def __init__(self, amount: float = 0.1, salt: float = 0.5):
        self.amount = check_number("amount", "salt_pepper", amount, 0.0, 1.0)
        self.salt = check_number("salt", "salt_pepper", salt, 0.0, 1.0)

    def apply(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, None]:
        b, _, h, w = x.shape
        u = uniform((b, 1, h, w), generator, x.device)
        salt = u < self.amount * self.salt
        pepper = (u >= self.amount * self.salt) & (u < self.amount)
        x_in = x.masked_fill(salt, 1.0).masked_fill(pepper, 0.0)
        return x_in, None
