"""Tiled inference equals the untiled pass, and tile bookkeeping covers the image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aelab.errors import ConfigError
from aelab.models.espcn import create_upscaler
from aelab.sr.images import upscale_image
from aelab.sr.tiled import tile_starts, upscale_tiled, upscale_whole


def model(scale=3, color="y"):
    torch.manual_seed(0)
    m = create_upscaler("espcn", scale=scale, color=color)
    with torch.no_grad():                 # larger weights than the init: a harsher check
        for p in m.parameters():
            p.mul_(3.0)
    return m.eval()


@pytest.mark.parametrize(("h", "w", "tile", "overlap"), [(37, 50, 16, 9), (40, 40, 20, 12),
                                                        (23, 64, 32, 10)])
def test_tiled_equals_untiled(h, w, tile, overlap):
    m = model()
    lr = np.random.default_rng(0).random((1, h, w), dtype=np.float32)
    whole = upscale_whole(m, lr)
    tiled = upscale_tiled(m, lr, tile=tile, overlap=overlap, batch_size=3)
    assert tiled.shape == whole.shape == (1, 3 * h, 3 * w)
    np.testing.assert_allclose(tiled, whole, atol=1e-4, rtol=0)


def test_tiled_rgb_model_equals_untiled():
    m = model(scale=2, color="rgb")
    lr = np.random.default_rng(1).random((3, 30, 45), dtype=np.float32)
    np.testing.assert_allclose(upscale_tiled(m, lr, tile=16, overlap=10),
                               upscale_whole(m, lr), atol=1e-4, rtol=0)


def test_tiling_without_halo_margin_shows_seams():
    # The same blending with an overlap too small for the receptive field would differ: the
    # check that refuses it is what keeps the equality above.
    m = model()
    with pytest.raises(ConfigError, match="too small"):
        upscale_tiled(m, np.zeros((1, 40, 40), np.float32), tile=16, overlap=8)


def test_tile_starts_cover_axis_with_last_tile_flush():
    starts = tile_starts(100, 32, 10)
    assert starts[0] == 0 and starts[-1] == 68
    assert all(b - a <= 22 for a, b in zip(starts, starts[1:], strict=False))
    assert tile_starts(20, 32, 10) == [0]


def test_upscale_image_tiled_matches_untiled_rgb_photo():
    m = model(scale=2)
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (27, 41, 3), dtype=np.uint8)
    tiled = upscale_image(m, image, tile=12, overlap=10)
    whole = upscale_image(m, image, tile=None)
    assert tiled.shape == (54, 82, 3) and tiled.dtype == np.uint8
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1   # rounding only
