"""Objectives: a reconstruction term plus weighted regularizers, returned as named terms.

`build_objective(cfg.loss, model)` returns a callable ``(x, out) -> {"recon": ..., "kl":
..., "total": ...}``; every term is logged by name during training.
"""

from __future__ import annotations

import math

from torch import Tensor

from ..config import LossConfig
from ..errors import ConfigError
from ..models import Output
from ..priors import create_prior
from .divergence import DIVERGENCES, prior_divergence
from .reconstruction import RECONSTRUCTIONS
from .regularizers import REGULARIZERS, Regularizer, gaussian_kl


class Objective:
    """Callable objective: ``objective(x, out)`` returns a dict of named scalar terms.

    Parameters
    ----------
    recon : str
        Registered reconstruction term (``mse``, ``bce``, ``mse_cosine``).
    weights : dict[str, float]
        Weight of each regularizer by registered name (``kl``, ``l1_code``).
    cosine_weight : float
        For ``mse_cosine``: total = mse - cosine_weight * cosine similarity.
    bound : tuple of (Regularizer, weight)
        Regularizers built from settings, e.g. the divergence to a prior (`loss.prior`).
    """

    def __init__(self, recon: str, weights: dict[str, float], input_shape, cosine_weight=0.0,
                 bound: tuple[tuple[Regularizer, float], ...] = ()):
        self.recon_fn = RECONSTRUCTIONS.get(recon, key="loss.name")
        self.regularizers = {name: (REGULARIZERS.get(name), w) for name, w in weights.items()}
        # Regularizers bound to settings (a divergence to a prior), logged under their name.
        self.regularizers |= {reg.name: (reg, w) for reg, w in bound}
        self.cosine_weight = cosine_weight
        self.n_pixels = math.prod(input_shape)

    @property
    def needs(self) -> frozenset[str]:
        return frozenset().union(*(r.needs for r, _ in self.regularizers.values()))

    def __call__(self, x: Tensor, out: Output) -> dict[str, Tensor]:
        terms = self.recon_fn(x, out.x_logits)
        total = terms["recon"]
        if "cosine" in terms:
            total = total - self.cosine_weight * terms["cosine"]
        for name, (reg, weight) in self.regularizers.items():
            terms[name] = reg.fn(out, self.n_pixels)
            total = total + weight * terms[name]
        terms["total"] = total
        return terms


def build_objective(cfg: LossConfig, model) -> Objective:
    """Build the objective for `model`, checking that it provides what each term needs.

    Raises
    ------
    ConfigError
        When a regularizer needs outputs the model does not give (e.g. ``kl`` on ``dense``).
    """
    provides = frozenset(getattr(model, "provides", {"z", "x_logits"}))
    stochastic = {"mu", "logvar"} <= provides
    weights: dict[str, float] = {}
    kl_weight = cfg.kl_weight if cfg.kl_weight is not None else (1.0 if stochastic else None)
    if kl_weight is not None:
        weights["kl"] = kl_weight
    if cfg.l1_code > 0:
        weights["l1_code"] = cfg.l1_code
    model_name = getattr(model, "spec", {}).get("name", type(model).__name__)
    for name in weights:
        missing = REGULARIZERS.get(name).needs - provides
        if missing:
            raise ConfigError(
                f"loss.kl_weight: the 'kl' term needs a stochastic encoder (mu, logvar); model "
                f"{model_name!r} provides only {', '.join(sorted(provides))}. Use model "
                "'vae_dense' or 'vae_conv', or drop loss.kl_weight."
            )
    bound = ()
    if cfg.prior is not None:
        prior = create_prior(cfg.prior, **{"dim": model.latent_dim, **cfg.prior_options})
        bound = ((prior_divergence(cfg.divergence, prior, cfg.sigma, cfg.prior_seed),
                  cfg.divergence_weight),)
    return Objective(cfg.name, weights, model.input_shape, cfg.cosine_weight, bound)


__all__ = ["Objective", "build_objective", "DIVERGENCES", "RECONSTRUCTIONS", "REGULARIZERS",
           "gaussian_kl"]
