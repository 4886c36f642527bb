import pytest
import torch

from aelab.config import LossConfig
from aelab.errors import ConfigError
from aelab.losses import build_objective, gaussian_kl
from aelab.models import Output, create_model


def _out(z, x_logits, mu=None, logvar=None):
    return Output(z=z, x_logits=x_logits, mu=mu, logvar=logvar)


def test_gaussian_kl_is_zero_at_standard_normal():
    assert torch.allclose(gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3)), torch.zeros(4))


def test_gaussian_kl_matches_closed_form():
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.5, -1.0]])
    expected = 0.5 * sum(
        m**2 + torch.exp(v) - 1 - v for m, v in zip(mu[0], logvar[0], strict=True))
    assert torch.allclose(gaussian_kl(mu, logvar), expected.reshape(1))


def test_objective_kl_on_deterministic_model_is_rejected():
    model = create_model("dense", input_shape=(1, 8, 8), latent_dim=4, hidden=[16])
    with pytest.raises(ConfigError, match="needs a stochastic encoder.*vae_dense"):
        build_objective(LossConfig(kl_weight=1.0), model)


def test_objective_vae_gets_kl_term_by_default():
    model = create_model("vae_dense", input_shape=(1, 8, 8), latent_dim=4, hidden=[16])
    objective = build_objective(LossConfig(name="bce"), model)
    terms = objective(torch.rand(5, 1, 8, 8), model(torch.rand(5, 1, 8, 8)))
    assert set(terms) == {"recon", "kl", "total"}
    assert torch.allclose(terms["total"], terms["recon"] + terms["kl"])


def test_objective_mse_cosine_subtracts_weighted_similarity():
    model = create_model("dense", input_shape=(1, 8, 8), latent_dim=4, hidden=[16])
    objective = build_objective(LossConfig(name="mse_cosine", cosine_weight=0.5), model)
    x = torch.rand(3, 1, 8, 8)
    terms = objective(x, _out(torch.zeros(3, 4), torch.zeros(3, 1, 8, 8)))
    assert terms["cosine"] > 0
    assert torch.allclose(terms["total"], terms["recon"] - 0.5 * terms["cosine"])


def test_objective_mse_is_zero_for_exact_logits():
    model = create_model("dense", input_shape=(1, 8, 8), latent_dim=4, hidden=[16])
    objective = build_objective(LossConfig(name="mse"), model)
    x = torch.rand(3, 1, 8, 8) * 0.98 + 0.01
    terms = objective(x, _out(torch.zeros(3, 4), torch.logit(x)))
    assert terms["recon"].item() < 1e-10


def test_objective_l1_code_is_keras_activity_sum():
    model = create_model("dense", input_shape=(1, 8, 8), latent_dim=4, hidden=[16])
    objective = build_objective(LossConfig(l1_code=0.1), model)
    z = torch.tensor([[1.0, -2.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]])
    terms = objective(torch.zeros(2, 1, 8, 8), _out(z, torch.full((2, 1, 8, 8), -20.0)))
    assert terms["l1_code"].item() == pytest.approx(3.0)       # (3 + 3) / 2
    assert terms["total"].item() == pytest.approx(terms["recon"].item() + 0.3)
