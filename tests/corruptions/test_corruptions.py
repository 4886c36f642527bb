import numpy as np
import pytest
import torch

from aelab.config import RunConfig
from aelab.corruptions import CORRUPTIONS, build, corrupt_array, create
from aelab.errors import ConfigError


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", CORRUPTIONS.names())
def test_corruption_keeps_shape_range_and_is_seeded(name):
    x = torch.rand(4, 3, 12, 12, generator=gen(1))
    c = create(name)
    a, b = c(x, gen(5)), c(x, gen(5))
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b)
    if not c.deterministic:                       # e.g. downscale draws nothing
        assert not torch.equal(a, c(x, gen(6)))
    assert not torch.equal(a, x)


def test_gaussian_has_the_configured_std_without_clipping():
    x = torch.full((8, 1, 64, 64), 0.5)
    x_in = create("gaussian", factor=0.3, clip=False)(x, gen())
    assert abs(float((x_in - x).std()) - 0.3) < 0.01
    assert abs(float((x_in - x).mean())) < 0.01


def test_gaussian_clipping_biases_dark_pixels_upwards():
    x_in = create("gaussian", factor=0.5)(torch.zeros(4, 1, 32, 32), gen())
    assert x_in.min() == 0 and 0.15 < float(x_in.mean()) < 0.25   # E[max(0, 0.5 N)] = 0.2


def test_gaussian_max_factor_gives_each_image_its_own_level():
    x_in = create("gaussian", factor=0.1, max_factor=0.9, clip=False)(
        torch.zeros(64, 1, 16, 16), gen())
    stds = x_in.flatten(1).std(1)
    assert stds.min() < 0.3 and stds.max() > 0.7


def test_stripes_blacken_whole_rows():
    x_in, hidden = create("stripes", n=3, height=2).apply(torch.ones(5, 1, 20, 10), gen())
    rows = hidden[:, 0].all(-1)                      # (B, H): row fully hidden
    assert torch.equal(hidden[:, 0].any(-1), rows)   # rows are hidden whole or not at all
    assert (rows.sum(1) >= 2).all() and (rows.sum(1) <= 6).all()
    assert torch.equal(x_in == 0, hidden.expand_as(x_in))


def test_block_is_a_k_by_k_grey_square():
    x_in, hidden = create("block", size=4, value=0.5).apply(torch.zeros(6, 2, 9, 9), gen())
    assert (hidden.flatten(1).sum(1) == 16).all()
    assert torch.all(x_in[hidden.expand_as(x_in)] == 0.5)


def test_mask_drops_the_configured_fraction():
    _, hidden = create("mask", fraction=0.3).apply(torch.ones(16, 1, 32, 32), gen())
    assert abs(float(hidden.float().mean()) - 0.3) < 0.02


def test_build_combines_and_unions_hidden_regions():
    c = build([{"name": "block", "size": 3}, {"name": "stripes", "n": 1},
               {"name": "gaussian", "factor": 0.2}])
    _, hidden = c.apply(torch.zeros(4, 1, 10, 10), gen())
    assert (hidden.flatten(1).sum(1) >= 10).all()    # at least a stripe's 10 pixels


def test_unknown_option_suggests_the_close_one():
    with pytest.raises(ConfigError, match="Did you mean 'factor'"):
        build([{"name": "gaussian", "facter": 0.5}])


def test_run_config_reads_corruption_tables():
    cfg = RunConfig.from_dict({"corruption": [{"name": "gaussian", "factor": 0.7},
                                              {"name": "block"}]})
    assert [c.name for c in cfg.corruption] == ["gaussian", "block"]
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    one = RunConfig.from_dict({"corruption": {"name": "mask", "fraction": 0.1}})
    assert one.corruption[0].params == {"fraction": 0.1}
    assert RunConfig().corruption == ()


@pytest.mark.parametrize("bad, match", [
    ({"name": "gausian"}, "Did you mean 'gaussian'"),
    ({"factor": 0.5}, r"corruption\[0\].name must be set"),
    ({"name": "gaussian", "factr": 0.5}, r"corruption\[0\].factr"),
])
def test_run_config_rejects_bad_corruptions(bad, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig.from_dict({"corruption": [bad]})


def test_corrupt_array_is_reproducible_and_returns_the_hidden_region(tiny_images):
    c = create("block", size=3)
    a, ha = corrupt_array(c, tiny_images, seed=3, batch_size=16)
    b, hb = corrupt_array(c, tiny_images, seed=3, batch_size=16)
    assert a.dtype == np.float32 and np.array_equal(a, b) and np.array_equal(ha, hb)
    assert ha.shape == (64, 1, 8, 8) and (ha.reshape(64, -1).sum(1) == 9).all()
    assert corrupt_array(create("gaussian"), tiny_images)[1] is None
