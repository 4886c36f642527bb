"""Divergences between the batch of codes and samples of a prior, estimated with Parzen
(Gaussian kernel) windows, after Santana, Emigh and Principe, "Information Theoretic-Learning
Auto-Encoder" (IJCNN 2016, https://arxiv.org/abs/1603.06653).

With the kernel G(d) = exp(-|d|^2 / (4 sigma^2)) (a Gaussian of size sigma * sqrt(2), the
convolution of two Parzen windows of size sigma), the information potentials are means over
pairs: V(X) over X x X, V(Y) over Y x Y, V(X, Y) over X x Y. Then

    Cauchy-Schwarz  CSD(X, Y) = log V(X) + log V(Y) - 2 log V(X, Y)       (>= 0, 0 if X = Y)
    Euclidean       ED(X, Y)  = V(X) + V(Y) - 2 V(X, Y)                   (= MMD^2, biased)

The kernels' normalising constant cancels in CSD; for ED it only rescales the term (the Parzen
ED is ours times (4 pi sigma^2)^(-dim/2)), so it is left to the weight. Each log V is a
log-sum-exp over all pairs minus log(n m), so a small sigma or distant codes never underflow
to log(0). Cost: three (n x m) distance matrices per batch, O(n^2 dim).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..errors import ConfigError
from ..models import Output
from ..priors import Prior
from ..registry import Registry
from .regularizers import REGULARIZERS, Regularizer

DIVERGENCES: Registry[Callable[[Tensor, Tensor, float], Tensor]] = Registry("divergence")


def squared_distances(a: Tensor, b: Tensor) -> Tensor:
    """|a_i - b_j|^2 for a (n, d) and b (m, d): (n, m), by |a|^2 + |b|^2 - 2 a.b (one matmul;
    clamped at 0, where rounding can leave a tiny negative)."""
    sq = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2.0 * a @ b.T
    return sq.clamp_min(0.0)


def log_potential(a: Tensor, b: Tensor, sigma: float) -> Tensor:
    """log V(a, b) = log mean_ij exp(-|a_i - b_j|^2 / (4 sigma^2)), by log-sum-exp."""
    logits = squared_distances(a, b) / (-4.0 * sigma * sigma)
    return torch.logsumexp(logits.flatten(), dim=0) - math.log(a.shape[0] * b.shape[0])


@DIVERGENCES.register("cs")
def cs_divergence(x: Tensor, y: Tensor, sigma: float) -> Tensor:
    """Cauchy-Schwarz divergence between samples x (n, d) and y (m, d); a scalar >= 0.

    Examples
    --------
    >>> x = torch.randn(5, 3)
    >>> float(cs_divergence(x, x, 1.0)) == 0.0
    True
    """
    return log_potential(x, x, sigma) + log_potential(y, y, sigma) - 2 * log_potential(
        x, y, sigma)


@DIVERGENCES.register("ed")
def euclidean_divergence(x: Tensor, y: Tensor, sigma: float) -> Tensor:
    """Euclidean divergence (the biased MMD^2 with the same kernel) between x and y."""
    return (log_potential(x, x, sigma).exp() + log_potential(y, y, sigma).exp()
            - 2 * log_potential(x, y, sigma).exp())


TERM_NAMES = {"cs": "cs_divergence", "ed": "ed_divergence"}


class PriorDivergence:
    """``fn(out, n_pixels)`` of a divergence regularizer: the divergence between the batch of
    codes ``out.z`` (flattened to (B, dim)) and as many prior samples, drawn fresh at each
    call from a generator seeded with `seed` (created on the codes' device at first use)."""

    def __init__(self, divergence: str, prior: Prior, sigma: float, seed: int = 0):
        self.divergence = DIVERGENCES.get(divergence, key="loss.divergence")
        self.prior, self.sigma, self.seed = prior, float(sigma), int(seed)
        self.generator: torch.Generator | None = None

    def __call__(self, out: Output, n_pixels: int) -> Tensor:
        z = out.z.flatten(1)
        if z.shape[1] != self.prior.dim:
            raise ConfigError(f"the {self.prior.name} prior has dim {self.prior.dim} but the "
                              f"codes have {z.shape[1]} values; set model.latent_dim = "
                              f"{self.prior.dim} or loss.prior_options.dim = {z.shape[1]}.")
        if self.generator is None or self.generator.device != z.device:
            self.generator = torch.Generator(device=z.device).manual_seed(self.seed)
        y = self.prior.sample(len(z), generator=self.generator, device=z.device).to(z.dtype)
        return self.divergence(z, y, self.sigma)


def prior_divergence(divergence: str, prior: Prior, sigma: float, seed: int = 0) -> Regularizer:
    """The regularizer ``<divergence>_divergence`` pulling the codes towards `prior`."""
    return Regularizer(TERM_NAMES[divergence], frozenset({"z"}),
                       PriorDivergence(divergence, prior, sigma, seed))


def _needs_prior(out: Output, n_pixels: int) -> Tensor:
    raise ConfigError("divergence terms compare the codes with a prior: set loss.prior "
                      "(and loss.divergence, loss.sigma, loss.divergence_weight) instead of "
                      "naming the term directly.")


# Registered by name so that `aelab list losses` shows them; the objective uses a copy bound
# to the configured prior (`prior_divergence`).
for _name in TERM_NAMES.values():
    REGULARIZERS.register(_name)(Regularizer(_name, frozenset({"z"}), _needs_prior))

__all__ = ["DIVERGENCES", "PriorDivergence", "cs_divergence", "euclidean_divergence",
           "log_potential", "prior_divergence", "squared_distances"]
