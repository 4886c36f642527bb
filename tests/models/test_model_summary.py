from __future__ import annotations

import pytest
import torch
from torch import nn

from aelab.errors import ConfigError
from aelab.models import create_model, summary


def conv_model():
    torch.manual_seed(0)
    return create_model("conv", (1, 28, 28), latent_dim=16, channels=[4, 8],
                        upsample="unpool", batch_norm=True)


def test_summary_has_a_row_for_every_layer():
    model = conv_model()
    text = summary(model)
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]
    assert len(leaves) > 10
    for name, module in leaves:
        assert f"{name} ({type(module).__name__})" in text


def test_summary_shows_output_shapes():
    lines = summary(conv_model()).splitlines()
    row = {line.split(" (")[0]: line for line in lines}
    assert "(1, 4, 14, 14)" in row["encoder.stages.0.pool"]
    assert "(1, 16)" in row["to_code.1"]
    assert "(1, 1, 28, 28)" in row["decoder.head"]


def test_summary_total_equals_parameter_count():
    model = conv_model()
    total = sum(p.numel() for p in model.parameters())
    assert f"Total params: {total:,}" in summary(model).splitlines()


def test_summary_counts_frozen_parameters_as_non_trainable():
    model = conv_model()
    model.decoder.head.weight.requires_grad_(False)
    assert f"Non-trainable params: {model.decoder.head.weight.numel():,}" in summary(model)


def test_summary_restores_each_module_mode():
    model = conv_model().train()
    model.encoder.eval()
    before = {n: m.training for n, m in model.named_modules()}
    summary(model)
    assert {n: m.training for n, m in model.named_modules()} == before


def test_summary_leaves_rng_and_batch_norm_statistics_alone():
    torch.manual_seed(0)
    model = create_model("vae_conv", (1, 8, 8), latent_dim=2, channels=[4], batch_norm=True)
    stats = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    summary(model)
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in stats.items())


def test_summary_of_plain_module_needs_input_shape():
    with pytest.raises(ConfigError, match="summary needs input_shape"):
        summary(nn.Linear(3, 2))
    assert "(1, 2)" in summary(nn.Linear(3, 2), input_shape=(3,))
