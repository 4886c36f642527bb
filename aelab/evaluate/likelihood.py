"""Log-likelihood of binary images under a VAE with a Bernoulli decoder: the ELBO and the
importance-weighted bound of Burda, Grosse and Salakhutdinov ("Importance Weighted
Autoencoders", https://arxiv.org/abs/1509.00519).

For an image x with encoder q(z|x) = N(mu, diag(exp(logvar))), prior p(z) = N(0, I) and
decoder p(x|z) = prod Bernoulli(sigmoid(logits)):

    ELBO(x)  = E_q[log p(x|z)] - KL(q(z|x) || p(z))                 (one sample, exact KL)
    L_k(x)   = log (1/k) sum_i p(x, z_i) / q(z_i|x),  z_i ~ q(z|x)   (log-mean-exp)

L_1 has the ELBO's expectation, L_k grows with k towards log p(x), so L_k for large k is the
usual "test log-likelihood" of a VAE. Values are in nats per image (higher is better).
Randomness comes only from the `torch.Generator` passed in.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.protocol import binarize  # noqa: F401  (its home before; kept importable)
from ..errors import ConfigError, DataError
from ..losses import gaussian_kl
from ..precision import autocast

LOG_2PI = math.log(2 * math.pi)


def _bernoulli_log_prob(x: Tensor, x_logits: Tensor) -> Tensor:
    """log p(x | logits) summed over pixels: (B, ...) -> (B,)."""
    return -F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").flatten(1).sum(1)


def _gaussian_log_prob(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over dims: (..., d) -> (...)."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def _posterior(model, x: Tensor) -> tuple[Tensor, Tensor]:
    out = model(x)
    if out.mu is None or out.logvar is None:
        raise ConfigError(f"{type(model).__name__} gives no (mu, logvar); the ELBO and the "
                          "importance-weighted bound need a VAE (vae_dense or vae_conv).")
    return out.mu.flatten(1), out.logvar.flatten(1)


@torch.no_grad()
def elbo(model, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """One-sample ELBO per image (B,) of binary images x (B, C, H, W) in {0, 1}."""
    model.eval()
    mu, logvar = _posterior(model, x)
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    z = mu + (0.5 * logvar).exp() * eps
    return _bernoulli_log_prob(x, model.decode(z)) - gaussian_kl(mu, logvar)


@torch.no_grad()
def importance_weighted(model, x: Tensor, k: int, *, generator: torch.Generator | None = None,
                        chunk: int = 25, precision: str = "fp32") -> Tensor:
    """The importance-weighted bound L_k per image (B,), with k samples of q(z|x) per image,
    decoded `chunk` samples at a time (small chunks keep the logits in cache). With
    ``precision="bf16"`` the decoder runs under bf16 autocast; its logits and everything
    after them are fp32 (see `aelab.precision`)."""
    if k < 1:
        raise ConfigError(f"the importance-weighted bound needs k >= 1 samples; got k={k}.")
    model.eval()
    mu, logvar = _posterior(model, x)                         # (B, d)
    std = (0.5 * logvar).exp()
    target = x.unsqueeze(0)                                   # (1, B, C, H, W): broadcast
    log_w = []
    for start in range(0, k, chunk):
        n = min(chunk, k - start)
        eps = torch.randn((n, *mu.shape), generator=generator, device=mu.device,
                          dtype=mu.dtype)
        z = mu + std * eps                                    # (n, B, d)
        with autocast(mu.device, precision):
            logits = model.decode(z.reshape(n * len(x), -1))
        logits = logits.float().view(n, *x.shape)
        log_px = -F.binary_cross_entropy_with_logits(
            logits, target.expand_as(logits), reduction="none").flatten(2).sum(2)
        log_pz = _gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
        log_w.append(log_px + log_pz - _gaussian_log_prob(z, mu, logvar))
    return torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k)


def likelihood_scores(model, images: np.ndarray, *, k: int = 100, seed: int = 0,
                      batch_size: int = 500, precision: str = "fp32",
                      progress=None) -> dict[str, float]:
    """Mean ELBO and importance-weighted bound L_k (nats per image) of binary uint8 images
    (values 0 and 255) under `model`; ``{"elbo", "iw_bound", "k"}``. `precision` is the
    decoder's in L_k (fp32 or bf16; the ELBO is always fp32); `progress`, a tqdm-like
    factory, shows the batches done."""
    images = np.asarray(images)
    if not np.isin(images, (0, 255)).all():
        raise DataError("likelihood_scores expects binarized images (0 and 255 only); "
                        "binarize them first (aelab.data.binarize).")
    device = next(model.parameters()).device
    g = torch.Generator(device=device).manual_seed(seed)
    elbos, bounds = [], []
    starts = range(0, len(images), batch_size)
    bar = progress(total=len(starts), desc=f"L_{k}", unit="batch") if progress else None
    for i in starts:
        x = torch.as_tensor(images[i:i + batch_size], device=device).float().div_(255.0)
        elbos.append(elbo(model, x, generator=g))
        bounds.append(importance_weighted(model, x, k, generator=g, precision=precision))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return {"elbo": float(torch.cat(elbos).mean()), "iw_bound": float(torch.cat(bounds).mean()),
            "k": int(k)}


__all__ = ["binarize", "elbo", "importance_weighted", "likelihood_scores"]
