"""The swiss roll: a 2-D sheet rolled up in 3-D, the prior of the ITL autoencoder's best
known figure (Santana et al. 2016). Same parametrisation as scikit-learn's
``make_swiss_roll``: position t in [1.5 pi, 4.5 pi] along the roll, height h in [0, height],
point (t cos t, h, t sin t) * scale, plus isotropic Gaussian noise."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor

from ..errors import ConfigError
from .base import PRIORS, Prior, check_number

T_MIN, T_MAX = 1.5 * math.pi, 4.5 * math.pi


@PRIORS.register("swiss_roll")
class SwissRollPrior(Prior):
    """Uniform on a swiss roll in 3-D.

    Parameters
    ----------
    dim : int, default 3
        Must be 3 (accepted so that every prior takes the code size).
    height : float, default 21.0
        Width of the sheet (scikit-learn's value).
    noise : float, default 0.0
        Std of Gaussian noise added to each coordinate.
    scale : float, default 1.0
        Multiplies the whole roll (its outer radius is 4.5 pi * scale ~ 14 * scale).
    """

    name: ClassVar[str] = "swiss_roll"
    cmap: ClassVar[str] = "viridis"

    def __init__(self, dim: int = 3, height: float = 21.0, noise: float = 0.0,
                 scale: float = 1.0):
        if dim != 3:
            raise ConfigError(f"the swiss_roll prior lives in 3-D; the code has dim={dim!r}. "
                              "Set model.latent_dim = 3 or choose the gaussian or gmm prior.")
        self.dim = 3
        self.height = check_number("height", height, positive=True)
        self.noise = check_number("noise", noise, low=0.0)
        self.scale = check_number("scale", scale, positive=True)

    def point(self, t: Tensor, h: Tensor) -> Tensor:
        """The roll's points (n, 3) at positions `t` (radians) and heights `h`, no noise."""
        return self.scale * torch.stack([t * torch.cos(t), h, t * torch.sin(t)], dim=1)

    def _sample(self, n, generator, device):
        u = torch.rand(2, n, generator=generator, device=device)
        t = T_MIN + (T_MAX - T_MIN) * u[0]
        z = self.point(t, self.height * u[1])
        if self.noise > 0:
            z = z + self.noise * self.scale * torch.randn(n, 3, generator=generator,
                                                          device=device)
        return z, t

    def walk(self, n: int, along: str = "roll", *, at: float = 0.5) -> Tensor:
        """`n` points (n, 3) on a straight walk in the roll's own coordinates: along the
        roll (t from start to end at height fraction `at`) or across it ("height": h from 0
        to `height` at roll fraction `at`)."""
        s = torch.linspace(0, 1, n)
        fixed = torch.full((n,), float(at))
        if along == "roll":
            t, h = T_MIN + (T_MAX - T_MIN) * s, self.height * fixed
        elif along == "height":
            t, h = T_MIN + (T_MAX - T_MIN) * fixed, self.height * s
        else:
            raise ConfigError(f"walk along must be 'roll' or 'height'; got {along!r}.")
        return self.point(t, h)
