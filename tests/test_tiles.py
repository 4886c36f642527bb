"""The one tiler: blending reproduces what every tile agrees on, the sub-pixel path equals a
pixel shuffle, and shrunk tiles still cover the image with the same number of tiles."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aelab.tiles import fit_tile, n_tiles, ramp, tent_window, tile_starts, tiled_map


@pytest.mark.parametrize(("tile", "overlap", "window"), [(8, 4, tent_window), (7, 3, ramp(3)),
                                                         ((9, 5), (2, 1), tent_window)])
def test_tiled_map_of_identity_returns_the_input(tile, overlap, window):
    x = torch.rand(2, 23, 30, generator=torch.Generator().manual_seed(0))
    out = tiled_map(lambda t: t, x, tile=tile, overlap=overlap, window=window, batch_size=3)
    torch.testing.assert_close(out, x, atol=1e-6, rtol=0)


def test_tiled_map_margin_keeps_each_tiles_interior():
    # fn returns the interior of its tile: cutting the extended input must give back x.
    x = torch.rand(1, 20, 17, generator=torch.Generator().manual_seed(1))
    xp = F.pad(x[None], (2, 2, 2, 2), mode="reflect")[0]
    out = tiled_map(lambda t: t[..., 2:-2, 2:-2], xp, tile=9, overlap=6, window=ramp(2),
                    margin=2, batch_size=4, shrink=True)
    torch.testing.assert_close(out, x, atol=1e-6, rtol=0)


def test_tiled_map_subpixel_output_equals_pixel_shuffled_output():
    r = 3
    x = torch.rand(1, 25, 19, generator=torch.Generator().manual_seed(2))
    gain = torch.arange(1, r * r + 1, dtype=torch.float32)[None, :, None, None]

    def subpixel(t):           # a position-dependent "model": r*r different sub-pixel planes
        return t.repeat(1, r * r, 1, 1) * gain + t.mean((2, 3), keepdim=True)

    kw = {"tile": 8, "overlap": 3, "window": ramp(3 * r), "scale": r, "batch_size": 5}
    a = tiled_map(subpixel, x, subpixel=True, **kw)
    b = tiled_map(lambda t: F.pixel_shuffle(subpixel(t), r), x, **kw)
    assert a.shape == (1, 75, 57)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_fit_tile_shares_the_axis_evenly_with_as_many_tiles():
    # 1080p x3 input (640x360, extended by ESPCN's halo of 4): 128-pixel tiles, overlap 16
    for n in (368, 648, 100, 129):
        side = fit_tile(n, 128, 16)
        assert side <= 128
        assert len(tile_starts(n, side, 16)) == len(tile_starts(n, 128, 16))
    assert fit_tile(368, 128, 16) == 104 and fit_tile(50, 128, 16) == 50
    assert n_tiles(368, 648, 128, 16, shrink=True) == 4 * 6


def test_tent_window_is_positive_and_peaks_in_the_middle():
    w = tent_window(10)
    assert w.min() > 0 and w.argmax() in (4, 5) and np.allclose(w, w[::-1])
