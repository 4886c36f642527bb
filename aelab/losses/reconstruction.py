"""Reconstruction terms. The decoder outputs logits; each term compares them with the clean
image x in [0, 1] and returns a per-pixel mean (so terms stay comparable across image sizes)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..registry import Registry

RECONSTRUCTIONS: Registry = Registry("reconstruction loss")


@RECONSTRUCTIONS.register("mse")
def mse(x: Tensor, x_logits: Tensor) -> dict[str, Tensor]:
    """Mean squared error between x and sigmoid(logits)."""
    return {"recon": F.mse_loss(torch.sigmoid(x_logits), x)}


@RECONSTRUCTIONS.register("bce")
def bce(x: Tensor, x_logits: Tensor) -> dict[str, Tensor]:
    """Binary cross-entropy with logits (numerically stable), x used as a soft target."""
    return {"recon": F.binary_cross_entropy_with_logits(x_logits, x)}


def cosine_similarity(x: Tensor, x_logits: Tensor) -> Tensor:
    """Mean over the batch of the cosine similarity between flattened x and sigmoid(logits)."""
    return F.cosine_similarity(torch.sigmoid(x_logits).flatten(1), x.flatten(1), dim=1).mean()


@RECONSTRUCTIONS.register("mse_cosine")
def mse_cosine(x: Tensor, x_logits: Tensor) -> dict[str, Tensor]:
    """MSE, and the cosine similarity that the objective subtracts with `loss.cosine_weight`."""
    return {"recon": F.mse_loss(torch.sigmoid(x_logits), x),
            "cosine": cosine_similarity(x, x_logits)}


@RECONSTRUCTIONS.register("mse_linear")
def mse_linear(x: Tensor, x_logits: Tensor) -> dict[str, Tensor]:
    """MSE between x and the raw decoder output (a linear output layer), for data that is
    not in [0, 1]: the estimator uses it on standardized features (mean 0, variance 1)."""
    return {"recon": F.mse_loss(x_logits, x)}
