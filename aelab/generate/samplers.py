"""Samplers: new images from a trained autoencoder by choosing codes and decoding them.

Every sampler works on any `aelab.models.Autoencoder` (``encode`` / ``decode``); only `prior`
needs a VAE, whose codes were pulled towards N(0, I) by the KL term. Images go in as uint8
(N, C, H, W) and come out as float32 in [0, 1] (``sigmoid`` of the decoder's logits).
Randomness comes from the `torch.Generator` passed in, never the global RNG.

- `prior`: z ~ N(0, I) (a VAE's prior).
- `class_gaussian`: a Gaussian fitted to the codes of one class's examples (Ledoit-Wolf
  shrunk covariance, so 10 examples in 16 dimensions still give a usable one).
- `perturb`: an example's code plus noise of `scale` times the per-dimension spread of codes.
- `interpolate`: a straight line between two codes.
- `extrapolate_until_flip`: walk from an example's code along a direction, in steps of the
  codes' spread, until the judge no longer recognizes the intended class.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from torch import nn

from .. import infer
from ..errors import ConfigError, DataError
from ..infer import decode
from ..models import Autoencoder
from ..train.classify import predict_logits

__all__ = ["class_gaussian", "code_spread", "decode", "encode", "extrapolate_until_flip",
           "gaussian_codes", "interpolate", "perturb", "prior", "to_uint8"]


def encode(model: Autoencoder, images: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """Deterministic codes (a VAE's mean) of uint8 images, flattened to (N, d) float64."""
    if images.dtype != np.uint8 or images.ndim != 4:
        raise DataError(f"expected uint8 images (N, C, H, W); got {images.dtype} "
                        f"{images.shape}.")
    return infer.encode(model, images, batch_size=batch_size).astype(np.float64)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] to uint8 (rounded), as saved in PNGs and fed to classifiers."""
    return np.clip(np.rint(np.asarray(images) * 255.0), 0, 255).astype(np.uint8)


def code_spread(codes: np.ndarray) -> np.ndarray:
    """Per-dimension standard deviation of codes (N, d); the unit of `perturb`'s scale and of
    `extrapolate_until_flip`'s steps. Dimensions that never vary get 1e-6."""
    return np.maximum(np.asarray(codes).std(axis=0), 1e-6)


def _normal(n: int, d: int, generator: torch.Generator) -> np.ndarray:
    return torch.randn(n, d, generator=generator, dtype=torch.float64).numpy()


def prior(model: Autoencoder, n: int, *, generator: torch.Generator) -> np.ndarray:
    """`n` images decoded from z ~ N(0, I): a VAE's prior.

    Raises
    ------
    ConfigError
        For a model without a Gaussian code (a plain autoencoder has no prior to sample;
        use `class_gaussian` on its codes instead).
    """
    if "mu" not in getattr(model, "provides", ()):
        raise ConfigError(f"{type(model).__name__} has no prior to sample: only VAEs "
                          "(vae_dense, vae_conv) do. Use the class_gaussian sampler instead.")
    d = math.prod(infer.code_shape(model))
    return decode(model, _normal(n, d, generator))


def class_gaussian(model: Autoencoder, images: np.ndarray, n: int, *,
                   generator: torch.Generator, scale: float = 1.0) -> np.ndarray:
    """`n` images decoded from a Gaussian fitted to the codes of `images` (one class).

    The covariance is Ledoit-Wolf shrunk towards a scaled identity, so it is usable with fewer
    examples than code dimensions; `scale` multiplies the standard deviations (0 gives the
    class mean only).
    """
    return decode(model, gaussian_codes(encode(model, images), n, generator=generator,
                                        scale=scale))


def gaussian_codes(codes: np.ndarray, n: int, *, generator: torch.Generator,
                   scale: float = 1.0) -> np.ndarray:
    """`n` codes (n, d) drawn from a Gaussian fitted to `codes` (N, d), its covariance
    Ledoit-Wolf shrunk; `scale` multiplies the standard deviations."""
    if len(codes) < 2:
        raise DataError(f"a class Gaussian needs at least 2 examples; got {len(codes)}.")
    mean = codes.mean(axis=0)
    cov = LedoitWolf().fit(codes).covariance_
    # cov = L L^T; z = mean + scale * L eps. eigh tolerates a semi-definite cov.
    w, v = np.linalg.eigh(cov)
    root = v * np.sqrt(np.clip(w, 0.0, None))
    return mean + scale * _normal(n, len(mean), generator) @ root.T


def perturb(model: Autoencoder, images: np.ndarray, n: int, *, scale: float,
            generator: torch.Generator, spread: np.ndarray | None = None) -> np.ndarray:
    """`n` images decoded from the codes of `images` (cycled) plus Gaussian noise of `scale`
    times `spread` (default: the per-dimension std of the codes of `images`)."""
    if scale < 0:
        raise ConfigError(f"perturbation scale must be >= 0; got {scale}.")
    codes = encode(model, images)
    if spread is None:
        if len(codes) < 2:
            raise DataError("perturb needs `spread` when given a single example.")
        spread = code_spread(codes)
    base = codes[np.arange(n) % len(codes)]
    return decode(model, base + scale * spread * _normal(n, codes.shape[1], generator))


def interpolate(model: Autoencoder, image_a: np.ndarray, image_b: np.ndarray,
                steps: int = 8) -> np.ndarray:
    """`steps` images decoded along the straight line from the code of `image_a` (C, H, W)
    to that of `image_b`, both ends included."""
    if steps < 2:
        raise ConfigError(f"interpolation needs at least 2 steps; got {steps}.")
    za, zb = encode(model, np.stack([image_a, image_b]))
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return decode(model, (1 - t) * za + t * zb)


def extrapolate_until_flip(model: Autoencoder, judge: nn.Module, image: np.ndarray,
                           target: int, direction: np.ndarray, *, spread: np.ndarray,
                           max_scale: float = 20.0, step: float = 0.25) -> dict:
    """Move the code of `image` (C, H, W) along `direction` until the judge's label flips.

    The code at scale ``s`` is ``z + s * spread * u`` with ``u`` the unit vector of
    `direction` (so ``s`` counts code standard deviations). Scales run from 0 to `max_scale`
    in steps of `step`.

    Returns
    -------
    dict
        ``scales`` (array), ``confidence`` (the judge's probability of `target` at each scale),
        ``predicted`` (its label at each scale), ``images`` (decoded, float [0, 1]), and
        ``flip_scale``: the first scale whose label is not `target` (``nan`` if it never flips
        within `max_scale`; 0 if the reconstruction itself is not recognized).
    """
    u = np.asarray(direction, np.float64).ravel()
    norm = np.linalg.norm(u)
    if not np.isfinite(norm) or norm == 0:
        raise DataError("the extrapolation direction must be a non-zero finite vector.")
    u = u / norm
    z = encode(model, image[None])[0]
    scales = np.arange(0.0, max_scale + step / 2, step)
    images = decode(model, z + scales[:, None] * (np.asarray(spread) * u))
    logits = predict_logits(judge, to_uint8(images))
    prob = torch.softmax(logits, 1).numpy()
    predicted = prob.argmax(1)
    flipped = np.flatnonzero(predicted != target)
    return {"scales": scales, "confidence": prob[:, target], "predicted": predicted,
            "images": images,
            "flip_scale": float(scales[flipped[0]]) if len(flipped) else math.nan}
