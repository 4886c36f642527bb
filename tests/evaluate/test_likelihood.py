"""ELBO and importance-weighted bound: exact where q equals the prior and the decoder ignores
z, close to a numerically integrated log p(x) for a 1-D latent, and ordered ELBO <= L_k."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from aelab.errors import ConfigError, DataError
from aelab.evaluate.likelihood import (
    binarize,
    elbo,
    importance_weighted,
    likelihood_scores,
)
from aelab.models import create_model


def _vae(latent_dim: int, seed: int = 0):
    torch.manual_seed(seed)
    return create_model("vae_dense", input_shape=(1, 2, 2), latent_dim=latent_dim,
                        hidden=[8]).eval()


@pytest.fixture
def x():
    return torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]]).view(2, 1, 2, 2)


def test_bounds_equal_log_px_when_q_is_the_prior_and_z_is_ignored(x):
    model = _vae(2)
    with torch.no_grad():                 # encoder -> mu = logvar = 0; decoder -> its bias
        model.encoder[-1].weight.zero_()
        model.encoder[-1].bias.zero_()
        model.decoder[-2].weight.zero_()
    b = model.decoder[-2].bias.view(1, 1, 2, 2)
    log_px = (x * torch.nn.functional.logsigmoid(b)
              + (1 - x) * torch.nn.functional.logsigmoid(-b)).flatten(1).sum(1)
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(importance_weighted(model, x, 7, generator=g), log_px, atol=1e-5)
    assert torch.allclose(elbo(model, x, generator=g), log_px, atol=1e-5)


def _log_px_by_quadrature(model, x):
    z = torch.linspace(-10, 10, 20001).view(-1, 1)
    with torch.no_grad():
        logits = model.decode(z)                                        # (Z, 1, 2, 2)
    log_pxz = -torch.nn.functional.binary_cross_entropy_with_logits(
        logits.unsqueeze(1).expand(-1, len(x), -1, -1, -1), x.expand(len(z), -1, -1, -1, -1),
        reduction="none").flatten(2).sum(2)                             # (Z, B)
    log_pz = -0.5 * (z**2 + math.log(2 * math.pi))                      # (Z, 1)
    return torch.logsumexp(log_pxz + log_pz, 0) + math.log(float(z[1] - z[0]))


def test_importance_weighted_bound_approaches_the_integrated_likelihood(x):
    model = _vae(1, seed=3)
    exact = _log_px_by_quadrature(model, x)
    g = torch.Generator().manual_seed(0)
    l_big = importance_weighted(model, x, 20000, generator=g, chunk=5000)
    elbos = elbo(model, x.repeat(2000, 1, 1, 1), generator=g).view(2000, -1).mean(0)
    assert torch.allclose(l_big, exact, atol=0.02)
    assert (elbos < exact - 1e-3).all()          # the ELBO is a strict lower bound here


def test_importance_weighted_bound_grows_with_k(x):
    model = _vae(2, seed=1)
    with torch.no_grad():               # a narrow q away from the posterior: a loose ELBO
        model.encoder[-1].bias[2:] = -4.0
        model.decoder[0].weight.mul_(5.0)
    g = torch.Generator().manual_seed(0)
    xs = x.repeat(300, 1, 1, 1)         # 300 repeats of each image, averaged
    means = [float(importance_weighted(model, xs, k, generator=g).mean()) for k in (1, 10, 100)]
    assert means[0] + 0.05 < means[1] < means[2] - 0.05


def test_importance_weighted_needs_a_vae_and_k_at_least_one(x):
    with pytest.raises(ConfigError, match="k >= 1"):
        importance_weighted(_vae(2), x, 0)
    dense = create_model("dense", input_shape=(1, 2, 2), latent_dim=2, hidden=[8]).eval()
    with pytest.raises(ConfigError, match="need a VAE"):
        importance_weighted(dense, x, 5)


def test_binarize_keeps_the_mean_intensity_and_gives_two_values():
    images = np.full((200, 1, 10, 10), 64, dtype=np.uint8)
    out = binarize(images, seed=0)
    assert set(np.unique(out).tolist()) == {0, 255}
    assert (out == 255).mean() == pytest.approx(64 / 255, abs=0.01)
    assert np.array_equal(out, binarize(images, seed=0))


def test_likelihood_scores_reject_grey_images():
    with pytest.raises(DataError, match="binarize"):
        likelihood_scores(_vae(2), np.full((3, 1, 2, 2), 7, dtype=np.uint8))


def test_bf16_decoding_stays_within_bf16_rounding_of_fp32_on_the_same_draws(x):
    model = _vae(3, seed=1)
    bounds = {}
    for precision in ("fp32", "bf16"):
        g = torch.Generator().manual_seed(0)
        bounds[precision] = importance_weighted(model, x, 100, generator=g, precision=precision)
    assert bounds["bf16"].dtype == torch.float32
    assert not torch.equal(bounds["bf16"], bounds["fp32"])      # the decoder ran in bf16
    assert torch.allclose(bounds["bf16"], bounds["fp32"], atol=0.05)
