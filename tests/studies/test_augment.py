"""Affine jitter of the clustering studies: identity at zero, seeded, bounded shifts."""

from __future__ import annotations

import pytest
import torch

from aelab.errors import ConfigError
from aelab.studies._augment import AffineJitter, affine_jitter


@pytest.fixture
def x():
    return torch.rand(6, 1, 12, 12, generator=torch.Generator().manual_seed(0))


def test_affine_jitter_of_zero_is_the_identity(x):
    out = AffineJitter(0, 0, 0)(x, torch.Generator().manual_seed(1))
    assert torch.allclose(out, x, atol=1e-6)


def test_affine_jitter_is_seeded_and_changes_every_image(x):
    jitter = AffineJitter(10, 0.1, 2)
    a, b = (jitter(x, torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(a, b)
    assert ((a - x).abs().flatten(1).amax(1) > 1e-3).all()


def test_affine_jitter_shift_moves_a_dot_by_at_most_shift_pixels():
    dot = torch.zeros(200, 1, 15, 15)
    dot[:, :, 7, 7] = 1.0
    out = AffineJitter(rotate=0, scale=0, shift=2)(dot, torch.Generator().manual_seed(0))
    rows = torch.arange(15.0).view(1, 15, 1)
    cols = torch.arange(15.0).view(1, 1, 15)
    mass = out[:, 0].sum((1, 2))
    centre_r = (out[:, 0] * rows).sum((1, 2)) / mass
    centre_c = (out[:, 0] * cols).sum((1, 2)) / mass
    offsets = torch.stack([centre_r - 7, centre_c - 7], 1)
    assert offsets.abs().max() <= 2 + 1e-4
    assert offsets.abs().max() > 1.5          # the full range is used


def test_affine_jitter_options_are_checked():
    assert affine_jitter(None) is None
    assert affine_jitter({}) == AffineJitter()
    with pytest.raises(ConfigError, match="no option 'rot'"):
        affine_jitter({"rot": 10})
    with pytest.raises(ConfigError, match="below 1"):
        affine_jitter({"scale": 1.5})
