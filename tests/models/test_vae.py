from __future__ import annotations

import pytest
import torch

from aelab.errors import ConfigError
from aelab.models import create_model
from aelab.models.vae import LOGVAR_MAX

VAES = {
    "vae_dense": {"latent_dim": 4, "hidden": [16]},
    "vae_conv": {"latent_dim": 4, "channels": [4, 8]},
}


def build(name: str, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    return create_model(name, (1, 8, 8), **VAES[name] | kwargs)


def batch(n: int = 4) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name", VAES)
def test_vae_provides_mu_and_logvar(name):
    assert {"z", "x_logits", "mu", "logvar"} <= build(name).provides


@pytest.mark.parametrize("name", VAES)
def test_vae_eval_forward_is_deterministic(name):
    model = build(name).eval()
    torch.manual_seed(1)
    first = model(batch())
    torch.manual_seed(2)                       # a different RNG state must not matter
    second = model(batch())
    assert torch.equal(first.z, second.z) and torch.equal(first.x_logits, second.x_logits)


@pytest.mark.parametrize("name", VAES)
def test_vae_eval_z_equals_mu(name):
    out = build(name).eval()(batch())
    assert torch.equal(out.z, out.mu)


@pytest.mark.parametrize("name", VAES)
def test_vae_encode_returns_mu(name):
    model = build(name).train()
    x = batch()
    assert torch.equal(model.encode(x), model(x).mu)


@pytest.mark.parametrize("name", VAES)
def test_vae_train_forward_samples_z(name):
    out = build(name).train()(batch())
    assert out.z.shape == out.mu.shape
    assert not torch.allclose(out.z, out.mu)


@pytest.mark.parametrize("name", VAES)
def test_vae_train_sampling_follows_manual_seed(name):
    model = build(name).train()
    torch.manual_seed(5)
    first = model(batch()).z
    torch.manual_seed(5)
    assert torch.equal(model(batch()).z, first)


@pytest.mark.parametrize("name", VAES)
def test_vae_generator_attribute_replaces_global_rng(name):
    model = build(name).train()
    model.generator = torch.Generator().manual_seed(7)
    state = torch.get_rng_state()
    first = model(batch()).z
    model.generator = torch.Generator().manual_seed(7)
    second = model(batch()).z
    assert torch.equal(first, second)
    assert torch.equal(torch.get_rng_state(), state)     # the global RNG was not used


@pytest.mark.parametrize("name", VAES)
def test_vae_logvar_is_clamped(name):
    model = build(name).train()
    head = model.encoder[-1] if name == "vae_dense" else model.to_code[-1]
    with torch.no_grad():
        head.bias.fill_(1e4)                  # mu and logvar far beyond any sane range
    out = model(batch())
    assert out.logvar.max() == LOGVAR_MAX
    assert torch.isfinite(out.z).all() and torch.isfinite(out.x_logits).all()


def test_vae_conv_without_bottleneck_gives_gaussian_maps():
    out = build("vae_conv", bottleneck=None).eval()(batch())
    assert out.mu.shape == out.logvar.shape == (4, 4, 2, 2)


def test_vae_dense_has_no_code_activation_option():
    with pytest.raises(ConfigError, match=r"model\.code_activation: unknown option"):
        build("vae_dense", code_activation="relu")


@pytest.mark.parametrize("name", VAES)
def test_vae_noise_seed_gives_its_own_noise_stream(name):
    model = build(name, noise_seed=7).train()
    state = torch.get_rng_state()
    first = model(batch()).z
    assert torch.equal(torch.get_rng_state(), state)     # the global RNG was not used
    twin = build(name, noise_seed=7).train()
    torch.manual_seed(123)                               # nor does its state matter
    assert torch.equal(twin(batch()).z, first)
    other = build(name, noise_seed=8).train()
    assert not torch.equal(other(batch()).z, first)


@pytest.mark.parametrize("name", VAES)
def test_vae_noise_seed_draws_what_a_seeded_generator_draws(name):
    seeded = build(name, noise_seed=3).train()
    by_hand = build(name).train()
    by_hand.generator = torch.Generator().manual_seed(3)
    assert torch.equal(seeded(batch()).z, by_hand(batch()).z)


@pytest.mark.parametrize("name", VAES)
def test_vae_noise_seed_is_in_the_spec_only_when_set(name):
    assert "noise_seed" not in build(name).spec["kwargs"]
    assert build(name, noise_seed=0).spec["kwargs"]["noise_seed"] == 0


@pytest.mark.parametrize("value", [-1, 1.5, "0", True])
def test_vae_noise_seed_rejects_a_bad_value(value):
    with pytest.raises(ConfigError, match=r"model\.noise_seed must be an integer >= 0"):
        build("vae_dense", noise_seed=value)
