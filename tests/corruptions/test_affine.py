"""The affine corruption of the clustering studies: identity at zero, seeded, bounded shifts,
checked options, and a plain run config that trains with it."""

from __future__ import annotations

import pytest
import torch

from aelab.config import RunConfig
from aelab.corruptions import build, create
from aelab.errors import ConfigError


@pytest.fixture
def x():
    return torch.rand(6, 1, 12, 12, generator=torch.Generator().manual_seed(0))


def test_affine_of_zero_is_the_identity(x):
    out = create("affine", rotate=0, scale=0, shift=0)(x, torch.Generator().manual_seed(1))
    assert torch.allclose(out, x, atol=1e-6)


def test_affine_is_seeded_and_changes_every_image(x):
    jitter = create("affine", rotate=10, scale=0.1, shift=2)
    a, b = (jitter(x, torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(a, b)
    assert ((a - x).abs().flatten(1).amax(1) > 1e-3).all()


def test_affine_shift_moves_a_dot_by_at_most_shift_pixels():
    dot = torch.zeros(200, 1, 15, 15)
    dot[:, :, 7, 7] = 1.0
    out = create("affine", rotate=0, scale=0, shift=2)(dot, torch.Generator().manual_seed(0))
    rows = torch.arange(15.0).view(1, 15, 1)
    cols = torch.arange(15.0).view(1, 1, 15)
    mass = out[:, 0].sum((1, 2))
    centre_r = (out[:, 0] * rows).sum((1, 2)) / mass
    centre_c = (out[:, 0] * cols).sum((1, 2)) / mass
    offsets = torch.stack([centre_r - 7, centre_c - 7], 1)
    assert offsets.abs().max() <= 2 + 1e-4
    assert offsets.abs().max() > 1.5          # the full range is used


def test_affine_options_are_checked():
    assert create("affine") == create("affine", rotate=10.0, scale=0.1, shift=2.0)
    with pytest.raises(ConfigError, match="no.*'rot'|rot.*unknown|unknown.*rot"):
        create("affine", rot=10)
    with pytest.raises(ConfigError, match="scale must be below 1 .*; got 1.5"):
        create("affine", scale=1.5)
    with pytest.raises(ConfigError, match="rotate must be a number >= 0.0; got -1"):
        create("affine", rotate=-1)


def test_affine_repr_reads_as_its_options():
    # the clustering studies record it (``augment``) in every record
    assert repr(build([{"name": "affine", "rotate": 10.0, "scale": 0.1, "shift": 2.0}])) == \
        "AffineJitter(rotate=10.0, scale=0.1, shift=2.0)"


def test_affine_is_a_run_config_corruption():
    cfg = RunConfig.from_dict({"corruption": [{"name": "affine", "shift": 1}]})
    assert cfg.corruption[0].to_dict() == {"name": "affine", "shift": 1}


def test_downscale_is_shrink_then_bicubic_back_and_keeps_smooth_images():
    import torch.nn.functional as F

    x = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    out = create("downscale", scale=4)(x, torch.Generator().manual_seed(0))
    small = F.interpolate(x, size=(4, 4), mode="bicubic", antialias=True, align_corners=False)
    assert torch.equal(out, F.interpolate(small, size=(16, 16), mode="bicubic",
                                          align_corners=False).clamp(0, 1))
    flat = torch.full((1, 1, 16, 16), 0.3)
    assert torch.allclose(create("downscale", scale=2)(flat, None), flat, atol=1e-6)
    with pytest.raises(ConfigError, match="scale must be an integer >= 2; got 1"):
        create("downscale", scale=1)


def test_affine_corruption_turns_a_study_option_into_run_config_corruptions():
    from aelab.corruptions.affine import affine_corruption

    assert affine_corruption(None) == affine_corruption("none") == []
    assert affine_corruption({}) == [{"name": "affine"}]
    assert RunConfig.from_dict({"corruption": affine_corruption({"shift": 1})}).corruption[
        0].params == {"shift": 1}
    with pytest.raises(ConfigError, match=r'augment = "yes" is not an affine jitter'):
        affine_corruption("yes")
    with pytest.raises(ConfigError, match=r'augment = \{"scale": 2\}: .*scale must be below 1'):
        affine_corruption({"scale": 2})
