"""Gaussian priors: one Gaussian of any dimension, and a mixture of K Gaussians whose means
sit on a chosen layout (circle, sphere, axes or seeded random points)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from ..errors import ConfigError
from .base import PRIORS, Prior, check_count, check_number


def _vector(key: str, value: float | Sequence[float], dim: int, *, positive=False) -> Tensor:
    """A scalar broadcast to `dim`, or a list of exactly `dim` numbers."""
    values = [value] * dim if isinstance(value, int | float) else value
    if not isinstance(values, list | tuple) or len(values) != dim:
        raise ConfigError(f"loss.prior_options.{key} must be a number or a list of {dim} "
                          f"numbers (one per code dimension); got {value!r}.")
    return torch.tensor([check_number(key, v, positive=positive) for v in values])


@PRIORS.register("gaussian")
class GaussianPrior(Prior):
    """N(mean, diag(scale^2)) in `dim` dimensions.

    Parameters
    ----------
    dim : int, default 3
    mean : float or list of float, default 0.0
    scale : float or list of float, default 1.0
        Standard deviation per dimension.
    """

    name: ClassVar[str] = "gaussian"

    def __init__(self, dim: int = 3, mean: float | Sequence[float] = 0.0,
                 scale: float | Sequence[float] = 1.0):
        self.dim = check_count("dim", dim)
        self.mean, self.scale = mean, scale
        self._mean = _vector("mean", mean, self.dim)
        self._scale = _vector("scale", scale, self.dim, positive=True)

    def _sample(self, n, generator, device):
        eps = torch.randn(n, self.dim, generator=generator, device=device)
        z = self._mean.to(device) + self._scale.to(device) * eps
        return z, z.norm(dim=1)


LAYOUTS = ("circle", "sphere", "axes", "random")


def component_means(layout: str, n_components: int, dim: int, radius: float,
                    seed: int = 0) -> Tensor:
    """(K, dim) means of a mixture: on a circle in the first two coordinates, spread evenly
    over the sphere in the first three (a Fibonacci lattice), on the +/- coordinate axes
    (component k on axis k mod dim; K = dim gives one-hot means), or drawn from
    N(0, radius^2 / dim) with `seed`; all at distance `radius` from 0 except "random"."""
    k = torch.arange(n_components, dtype=torch.float64)
    means = torch.zeros(n_components, dim, dtype=torch.float64)
    if layout == "circle":
        if dim < 2:
            raise ConfigError("loss.prior_options.layout 'circle' needs dim >= 2.")
        angle = 2 * math.pi * k / n_components
        means[:, 0], means[:, 1] = torch.cos(angle), torch.sin(angle)
    elif layout == "sphere":
        if dim < 3:
            raise ConfigError("loss.prior_options.layout 'sphere' needs dim >= 3; use "
                              "'circle' for 2-D codes.")
        height = 1 - 2 * (k + 0.5) / n_components            # Fibonacci lattice on S^2
        ring = torch.sqrt(1 - height**2)
        angle = math.pi * (3 - math.sqrt(5)) * k
        means[:, 0], means[:, 1], means[:, 2] = ring * torch.cos(angle), ring * torch.sin(
            angle), height
    elif layout == "axes":
        if n_components > 2 * dim:
            raise ConfigError(f"loss.prior_options.layout 'axes' places at most 2 * dim = "
                              f"{2 * dim} components; got n_components={n_components}.")
        for i in range(n_components):
            means[i, i % dim] = 1.0 if i < dim else -1.0
    elif layout == "random":
        g = torch.Generator().manual_seed(seed)
        means = torch.randn(n_components, dim, generator=g, dtype=torch.float64) / math.sqrt(dim)
    else:
        raise ConfigError(f"loss.prior_options.layout = {layout!r} is not allowed. "
                          f"Allowed: {', '.join(LAYOUTS)}.")
    return (radius * means).float()


@PRIORS.register("gmm")
class MixturePrior(Prior):
    """An equal-weight mixture of `n_components` isotropic Gaussians of std `std`.

    Parameters
    ----------
    dim : int, default 3
    n_components : int, default 10
    layout : {"circle", "sphere", "axes", "random"}, default "sphere"
        Where the means sit (see `component_means`).
    radius : float, default 5.0
        Distance of the means from the origin (scale of the random layout).
    std : float, default 1.0
    seed : int, default 0
        Seed of the "random" layout's means (not of the sampling).
    """

    name: ClassVar[str] = "gmm"
    cmap: ClassVar[str] = "tab10"

    def __init__(self, dim: int = 3, n_components: int = 10, layout: str = "sphere",
                 radius: float = 5.0, std: float = 1.0, seed: int = 0):
        self.dim = check_count("dim", dim)
        self.n_components = check_count("n_components", n_components)
        self.layout, self.seed = layout, check_count("seed", seed, low=0)
        self.radius = check_number("radius", radius, low=0.0)
        self.std = check_number("std", std, positive=True)
        self.means = component_means(layout, self.n_components, self.dim, self.radius, seed)

    def _sample(self, n, generator, device):
        component = torch.randint(self.n_components, (n,), generator=generator, device=device)
        eps = torch.randn(n, self.dim, generator=generator, device=device)
        return self.means.to(device)[component] + self.std * eps, component.float()
