from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from aelab.errors import ConfigError
from aelab.models import create_model
from aelab.models.blocks import halved_sizes
from aelab.models.conv import top_left_indices

VALID = [("maxpool", "nearest"), ("maxpool", "transposed"), ("maxpool", "unpool"),
         ("stride", "nearest"), ("stride", "transposed")]
VARIANTS = [(down, up, bn, bottleneck) for (down, up), bn, bottleneck
            in itertools.product(VALID, [False, True], ["dense", None])]
IDS = [f"{d}-{u}-{'bn' if bn else 'nobn'}-{b or 'none'}" for d, u, bn, b in VARIANTS]


def build(shape=(1, 28, 28), seed=0, **kwargs):
    # 8 channels: with 4, a seed can leave every unit of a ReLU layer dead on a tiny batch.
    torch.manual_seed(seed)
    return create_model("conv", shape, **{"latent_dim": 4, "channels": [8, 8, 8]} | kwargs)


def batch(shape=(1, 28, 28), n=4):
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(1))


# Three stages on 28x28 go 28 -> 14 -> 7 -> 4, so every variant also exercises odd sizes.
@pytest.mark.parametrize(("downsample", "upsample", "batch_norm", "bottleneck"), VARIANTS,
                         ids=IDS)
def test_conv_variant_output_shape_matches_input(downsample, upsample, batch_norm, bottleneck):
    model = build(downsample=downsample, upsample=upsample, batch_norm=batch_norm,
                  bottleneck=bottleneck)
    assert model(batch()).x_logits.shape == (4, 1, 28, 28)


@pytest.mark.parametrize(("downsample", "upsample", "batch_norm", "bottleneck"), VARIANTS,
                         ids=IDS)
def test_conv_variant_every_parameter_gets_grad(downsample, upsample, batch_norm, bottleneck):
    model = build(downsample=downsample, upsample=upsample, batch_norm=batch_norm,
                  bottleneck=bottleneck)
    x = batch()
    F.binary_cross_entropy_with_logits(model(x).x_logits, x).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_conv_halved_sizes_round_odd_sizes_up():
    assert halved_sizes(28, 28, 3) == [(28, 28), (14, 14), (7, 7), (4, 4)]
    assert halved_sizes(8, 5, 2) == [(8, 5), (4, 3), (2, 2)]


def test_conv_non_square_input_keeps_its_shape():
    model = build(shape=(2, 9, 6), channels=[4, 4])
    assert model(batch((2, 9, 6))).x_logits.shape == (4, 2, 9, 6)


def test_conv_dense_bottleneck_code_is_a_vector():
    assert build(channels=[4, 8])(batch()).z.shape == (4, 4)


def test_conv_without_bottleneck_code_is_a_feature_map():
    assert build(channels=[4, 8], bottleneck=None)(batch()).z.shape == (4, 4, 7, 7)


def test_conv_unpool_with_stride_is_rejected():
    with pytest.raises(ConfigError, match=r"model\.upsample='unpool'.*model\.downsample='stride'"):
        build(downsample="stride", upsample="unpool")


def test_conv_too_many_stages_for_image_is_rejected():
    with pytest.raises(ConfigError, match=r"model\.channels has 4 stages.*at most 3 stages"):
        build(shape=(1, 8, 8), channels=[4, 4, 4, 4])


def test_conv_even_kernel_size_is_rejected():
    with pytest.raises(ConfigError, match=r"model\.kernel_size must be odd.*got 4"):
        build(kernel_size=4)


def test_conv_unknown_upsample_lists_allowed():
    with pytest.raises(ConfigError, match=r"model\.upsample: unknown value 'bilinear'\. "
                                          r"Allowed: 'nearest', 'transposed', 'unpool'"):
        build(upsample="bilinear")


def test_conv_empty_channels_is_rejected():
    with pytest.raises(ConfigError, match=r"model\.channels must be a non-empty list"):
        build(channels=[])


def test_conv_unpool_forward_uses_encoder_indices():
    model = build(upsample="unpool").eval()
    x = batch()
    with torch.no_grad():
        with_indices = model(x).x_logits
        top_left = model.decode(model.encode(x))       # no indices: fixed top-left positions
    assert with_indices.shape == top_left.shape == x.shape
    assert not torch.allclose(with_indices, top_left)


def test_top_left_indices_put_each_value_at_top_left_of_its_window():
    values = torch.arange(1.0, 10.0).view(1, 1, 3, 3)
    out = F.max_unpool2d(values, top_left_indices(values, (5, 5)), 2, output_size=(5, 5))
    assert torch.equal(out[..., ::2, ::2], values)
    assert out.sum() == values.sum()                   # zeros everywhere else
