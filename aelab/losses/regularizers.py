"""Weighted regularizers on the code. Each declares the `Output` fields it needs, so a
mismatch (a KL term on a deterministic encoder) is caught when the objective is built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from ..models import Output
from ..registry import Registry

REGULARIZERS: Registry = Registry("regularizer")


@dataclass(frozen=True)
class Regularizer:
    name: str
    needs: frozenset[str]
    fn: Callable[[Output, int], Tensor]   # (model output, pixels per image) -> scalar


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims, per sample: shape (B,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(dim=1)


def _kl(out: Output, n_pixels: int) -> Tensor:
    # Divided by the pixels per image so that with BCE the total is the negative ELBO per
    # pixel: the reconstruction terms are per-pixel means.
    return gaussian_kl(out.mu, out.logvar).mean() / n_pixels


def _l1_code(out: Output, n_pixels: int) -> Tensor:
    # Sum over code units, mean over the batch: the convention of Keras' activity
    # regularizer, so the published weights (1e-6 .. 1e-3) mean the same thing here.
    return out.z.abs().flatten(1).sum(dim=1).mean()


REGULARIZERS.register("kl")(Regularizer("kl", frozenset({"mu", "logvar"}), _kl))
REGULARIZERS.register("l1_code")(Regularizer("l1_code", frozenset({"z"}), _l1_code))

__all__ = ["REGULARIZERS", "Regularizer", "gaussian_kl"]
