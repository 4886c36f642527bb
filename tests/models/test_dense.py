from __future__ import annotations

import pytest
import torch
from torch import nn

from aelab.errors import ConfigError
from aelab.models import create_model


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def linear_sizes(module: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_dense_seed_stack_has_expected_parameter_count():
    model = create_model("dense", (1, 28, 28), latent_dim=30, hidden=[512, 256, 128])
    encoder = (784 * 512 + 512) + (512 * 256 + 256) + (256 * 128 + 128) + (128 * 30 + 30)
    decoder = (30 * 128 + 128) + (128 * 256 + 256) + (256 * 512 + 512) + (512 * 784 + 784)
    assert n_params(model) == encoder + decoder == 1_140_782


def test_dense_empty_hidden_is_one_layer_autoencoder():
    model = create_model("dense", (1, 28, 28), latent_dim=64, hidden=[], code_activation="relu")
    assert linear_sizes(model) == [(784, 64), (64, 784)]
    assert n_params(model) == 784 * 64 + 64 + 64 * 784 + 784


def test_dense_relu_code_activation_gives_nonnegative_code():
    x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    linear = create_model("dense", (1, 8, 8), latent_dim=16, hidden=[])
    torch.manual_seed(0)
    relu = create_model("dense", (1, 8, 8), latent_dim=16, hidden=[], code_activation="relu")
    assert (linear.encode(x) < 0).any()             # same weights: only the activation differs
    assert (relu.encode(x) >= 0).all()


def test_dense_decoder_mirrors_hidden_by_default():
    model = create_model("dense", (1, 8, 8), latent_dim=4, hidden=[32, 16])
    assert linear_sizes(model.decoder) == [(4, 16), (16, 32), (32, 64)]


def test_dense_decoder_hidden_overrides_mirror():
    model = create_model("dense", (1, 8, 8), latent_dim=4, hidden=[32, 16], decoder_hidden=[8])
    assert linear_sizes(model.encoder) == [(64, 32), (32, 16), (16, 4)]
    assert linear_sizes(model.decoder) == [(4, 8), (8, 64)]


def test_dense_batch_norm_and_dropout_follow_each_hidden_layer():
    model = create_model("dense", (1, 8, 8), latent_dim=4, hidden=[32, 16], batch_norm=True,
                         dropout=0.5)
    kinds = [type(m).__name__ for m in model.modules()]
    assert kinds.count("BatchNorm1d") == 4 and kinds.count("Dropout") == 4


def test_dense_unknown_activation_lists_allowed():
    with pytest.raises(ConfigError, match=r"model\.activation: unknown value 'relu6'.*'gelu'"):
        create_model("dense", (1, 8, 8), activation="relu6")


@pytest.mark.parametrize("dropout", [-0.1, 1.0, "0.5"])
def test_dense_dropout_outside_unit_interval_is_rejected(dropout):
    with pytest.raises(ConfigError, match=r"model\.dropout must be a number in \[0, 1\)"):
        create_model("dense", (1, 8, 8), dropout=dropout)


@pytest.mark.parametrize("hidden", [[0], [16, -1], "16", [16.0]])
def test_dense_bad_hidden_is_rejected(hidden):
    with pytest.raises(ConfigError, match=r"model\.hidden must be a list of positive integers"):
        create_model("dense", (1, 8, 8), hidden=hidden)
