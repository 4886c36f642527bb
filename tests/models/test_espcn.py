"""ESPCN: shapes at every scale and colour mode, the sub-pixel layout, gradients, save/load."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from aelab.errors import ConfigError, DataError
from aelab.models.espcn import UPSCALERS, create_upscaler, load_upscaler, save_upscaler


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize(("color", "channels"), [("y", 1), ("grey", 1), ("rgb", 3)])
def test_espcn_output_is_scale_times_larger(scale, color, channels):
    model = create_upscaler("espcn", scale=scale, color=color)
    x = torch.rand(2, channels, 7, 11)
    assert model(x).shape == (2, channels, 7 * scale, 11 * scale)


def test_espcn_default_layout_is_the_papers():
    model = create_upscaler("espcn", scale=3)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [
        (1, 64, 5), (64, 32, 3), (32, 9, 3)]
    assert any(isinstance(m, torch.nn.Tanh) for m in model.modules())
    assert model.halo == 4


def test_espcn_last_layer_channels_land_in_subpixel_grid():
    # Channel k of the last layer fills sub-pixel (k // r, k % r) of every r x r block.
    model = create_upscaler("espcn", scale=2)
    with torch.no_grad():
        for p in model.head.parameters():
            p.zero_()
        model.head.bias[3] = 1.0                     # channel 3 -> offset (1, 1)
    out = model(torch.rand(1, 1, 6, 6))[0, 0]
    assert torch.equal(out[1::2, 1::2], torch.ones(6, 6))
    assert out.sum() == 36


def test_espcn_every_parameter_gets_a_gradient():
    model = create_upscaler("espcn", scale=3)
    loss = F.mse_loss(model(torch.rand(2, 1, 8, 8)), torch.rand(2, 1, 24, 24))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_espcn_rejects_bad_options_and_inputs():
    with pytest.raises(ConfigError, match="scale"):
        create_upscaler("espcn", scale=5)
    with pytest.raises(ConfigError, match="Did you mean 'scale'"):
        create_upscaler("espcn", scael=3)
    with pytest.raises(DataError, match=r"\(B, 1, H, W\)"):
        create_upscaler("espcn")(torch.rand(1, 3, 8, 8))


def test_espcn_save_load_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = create_upscaler("espcn", scale=4, color="rgb", features=[8, 4])
    F.mse_loss(model(torch.rand(1, 3, 6, 6)), torch.rand(1, 3, 24, 24)).backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    save_upscaler(model, tmp_path / "m.safetensors")
    loaded = load_upscaler(tmp_path / "m.safetensors")
    x = torch.rand(1, 3, 9, 5)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), loaded(x))
    assert loaded.spec == model.spec


def test_espcn_has_its_own_registry_not_the_autoencoders():
    from aelab.models import list_models

    assert "espcn" in UPSCALERS and "espcn" not in list_models()


def test_espcn_unpadded_forward_is_the_interior_of_the_padded_one():
    # pad=False (training on crops) computes exactly the pixels whose receptive field lies
    # inside the input: the padded output with the halo's r*halo HR pixels cut off.
    torch.manual_seed(0)
    model = create_upscaler("espcn", scale=3).eval()
    x = torch.rand(2, 1, 15, 12)
    m = model.halo * 3
    with torch.no_grad():
        inner, full = model(x, pad=False), model(x)
    assert inner.shape == (2, 1, 3 * (15 - 8), 3 * (12 - 8))
    torch.testing.assert_close(inner, full[:, :, m:-m, m:-m], rtol=0, atol=1e-6)


@pytest.mark.parametrize("padding", ["reflect", "replicate", "zeros"])
def test_espcn_border_padding_modes(padding):
    # A constant image stays constant up to its border only when the border is extended with
    # image-like values; zero padding makes the border differ from the middle.
    torch.manual_seed(0)
    model = create_upscaler("espcn", scale=2, padding=padding).eval()
    with torch.no_grad():
        out = model(torch.full((1, 1, 10, 10), 0.5))[0, 0]
    # Each sub-pixel phase has its own output channel, so compare within a phase.
    spread = max(float(out[i::2, j::2].max() - out[i::2, j::2].min())
                 for i in range(2) for j in range(2))
    assert (spread > 1e-3) if padding == "zeros" else (spread < 1e-6)


def test_espcn_refuses_images_smaller_than_its_receptive_field():
    with pytest.raises(DataError, match="larger than 4 pixels"):
        create_upscaler("espcn")(torch.rand(1, 1, 4, 9))
    assert create_upscaler("espcn", padding="replicate")(torch.rand(1, 1, 4, 9)).shape == (
        1, 1, 12, 27)
