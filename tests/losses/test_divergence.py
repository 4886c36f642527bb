"""Divergence regularizers: CSD and ED against a direct double loop, zero at equality,
stability, and their wiring into the objective through the config."""

from __future__ import annotations

import math

import pytest
import torch

from aelab.config import LossConfig, RunConfig
from aelab.errors import ConfigError
from aelab.losses import build_objective
from aelab.losses.divergence import cs_divergence, euclidean_divergence, log_potential
from aelab.models import Output, create_model


def _potential_loop(a, b, sigma):
    """V(a, b) = mean over pairs of the Gaussian kernel of size sigma * sqrt(2), by loops."""
    total = 0.0
    for ai in a.tolist():
        for bj in b.tolist():
            d2 = sum((p - q) ** 2 for p, q in zip(ai, bj, strict=True))
            total += math.exp(-d2 / (2 * (sigma * math.sqrt(2)) ** 2))
    return total / (len(a) * len(b))


@pytest.fixture
def pair():
    g = torch.Generator().manual_seed(0)
    return torch.randn(7, 3, generator=g, dtype=torch.float64), \
        1.5 + torch.randn(5, 3, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0])
def test_cs_divergence_matches_a_double_loop(pair, sigma):
    x, y = pair
    vx, vy, vxy = (_potential_loop(a, b, sigma) for a, b in [(x, x), (y, y), (x, y)])
    expected = math.log(vx * vy / vxy**2)
    assert float(cs_divergence(x, y, sigma)) == pytest.approx(expected, rel=1e-10)


def test_euclidean_divergence_matches_a_double_loop(pair):
    x, y = pair
    vx, vy, vxy = (_potential_loop(a, b, 1.0) for a, b in [(x, x), (y, y), (x, y)])
    assert float(euclidean_divergence(x, y, 1.0)) == pytest.approx(vx + vy - 2 * vxy, rel=1e-9)


@pytest.mark.parametrize("divergence", [cs_divergence, euclidean_divergence])
def test_divergence_is_zero_when_codes_equal_the_prior_samples(pair, divergence):
    x, _ = pair
    assert abs(float(divergence(x.float(), x.float().clone(), 1.0))) < 1e-6


def test_cs_divergence_grows_as_the_samples_move_apart(pair):
    x, _ = pair
    values = [float(cs_divergence(x, x + shift, 1.0)) for shift in (0.5, 1.0, 2.0)]
    assert 0 < values[0] < values[1] < values[2]


def test_log_potential_stays_finite_where_every_kernel_underflows():
    x, y = torch.zeros(4, 3), torch.full((4, 3), 100.0)   # exp(-7500) underflows to 0
    assert torch.isfinite(log_potential(x, y, 1.0))
    # |x - y|^2 = 3 * 100^2; CSD = 2 * 30000 / (4 sigma^2) when every cross kernel underflows.
    assert float(cs_divergence(x, y, 1.0)) == pytest.approx(2 * 30000 / 4, rel=1e-5)


def test_cs_divergence_gradient_is_finite_for_duplicate_codes():
    x = torch.zeros(6, 3, requires_grad=True)
    cs_divergence(x, torch.randn(6, 3, generator=torch.Generator().manual_seed(0)), 1.0
                  ).backward()
    assert torch.isfinite(x.grad).all()


def _objective(loss: dict, latent_dim: int = 3):
    model = create_model("dense", (1, 8, 8), latent_dim=latent_dim, hidden=[16])
    return model, build_objective(LossConfig.from_dict(loss), model)


@pytest.mark.parametrize("divergence, term", [("cs", "cs_divergence"), ("ed", "ed_divergence")])
def test_objective_logs_the_divergence_by_name_and_weighs_it(divergence, term):
    model, objective = _objective({"prior": "gaussian", "divergence": divergence,
                                   "divergence_weight": 0.5})
    x = torch.rand(32, 1, 8, 8)
    with torch.no_grad():
        terms = objective(x, model(x))
    assert set(terms) == {"recon", term, "total"}
    assert float(terms["total"]) == pytest.approx(float(terms["recon"] + 0.5 * terms[term]))


def test_objective_draws_fresh_prior_samples_each_batch():
    model, objective = _objective({"prior": "gaussian"})
    x = torch.rand(16, 1, 8, 8)
    with torch.no_grad():
        out = model(x)
    assert float(objective(x, out)["cs_divergence"]) != float(objective(x, out)["cs_divergence"])


def test_objective_prior_sampling_is_seeded_by_prior_seed():
    x = torch.rand(16, 1, 8, 8)
    values = []
    for _ in range(2):
        model, objective = _objective({"prior": "gmm", "prior_seed": 5})
        values.append(float(objective(x, Output(z=torch.ones(16, 3), x_logits=x))[
            "cs_divergence"]))
    assert values[0] == values[1]


def test_prior_dim_follows_the_models_latent_dim():
    model, objective = _objective({"prior": "gmm", "prior_options": {"layout": "axes"}}, 10)
    x = torch.rand(8, 1, 8, 8)
    assert torch.isfinite(objective(x, model(x))["cs_divergence"])


def test_prior_dim_mismatch_is_an_error_naming_latent_dim():
    model, objective = _objective({"prior": "gaussian", "prior_options": {"dim": 4}})
    x = torch.rand(8, 1, 8, 8)
    with pytest.raises(ConfigError, match="model.latent_dim = 4"):
        objective(x, model(x))


@pytest.mark.parametrize("loss, match", [
    ({"sigma": 2.0}, "loss.sigma is set but loss.prior is not"),
    ({"prior": "swissroll"}, "Did you mean 'swiss_roll'"),
    ({"prior": "gmm", "divergence": "kl"}, "Allowed: cs, ed"),
    ({"prior": "gmm", "prior_options": {"radus": 2.0}}, "Did you mean 'loss.prior_options.radius'"),
    ({"prior": "gmm", "sigma": 0.0}, "loss.sigma must be >="),
])
def test_loss_config_rejects_bad_divergence_settings(loss, match):
    with pytest.raises(ConfigError, match=match):
        LossConfig.from_dict(loss)


def test_run_config_with_a_prior_survives_a_round_trip():
    cfg = RunConfig.from_dict({"loss": {"prior": "gmm", "prior_options": {"n_components": 4},
                                        "sigma": 10.0}})
    assert RunConfig.from_dict(cfg.to_dict()) == cfg


def test_train_with_a_prior_logs_the_divergence_in_the_history(tmp_path):
    from aelab.cli import main

    out = tmp_path / "run"
    assert main(["train", "configs/tiny_itl_gmm.toml", "--set", "train.epochs=1",
                 "--set", "data.limit=300", "--out", str(out)]) == 0
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert {"train_cs_divergence", "val_cs_divergence"} <= set(header)
