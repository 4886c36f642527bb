"""Priors: registry-wide sampling checks, the layouts, and errors that name the option."""

from __future__ import annotations

import math

import pytest
import torch
from matplotlib.figure import Figure

from aelab.errors import ConfigError
from aelab.priors import PRIORS, SwissRollPrior, component_means, create_prior


@pytest.mark.parametrize("name", PRIORS.names())
def test_prior_samples_have_the_prior_shape_and_are_finite(name):
    z = create_prior(name, dim=3).sample(500, generator=torch.Generator().manual_seed(0))
    assert z.shape == (500, 3) and z.dtype == torch.float32 and torch.isfinite(z).all()


@pytest.mark.parametrize("name", PRIORS.names())
def test_prior_sampling_is_reproducible_from_the_generator(name):
    prior = create_prior(name, dim=3)
    a = prior.sample(50, generator=torch.Generator().manual_seed(3))
    b = prior.sample(50, generator=torch.Generator().manual_seed(3))
    c = prior.sample(50, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", PRIORS.names())
def test_prior_draws_itself(name):
    fig = create_prior(name, dim=3).plot(n=200)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert len(fig.axes[0].collections) == 1


def test_gaussian_prior_has_the_configured_mean_and_scale():
    prior = create_prior("gaussian", dim=2, mean=[1.0, -2.0], scale=[0.5, 3.0])
    z = prior.sample(20000, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), torch.tensor([1.0, -2.0]), atol=0.06)
    assert torch.allclose(z.std(0), torch.tensor([0.5, 3.0]), rtol=0.03)


def test_gmm_samples_gather_around_their_component_means():
    prior = create_prior("gmm", dim=3, n_components=4, layout="circle", radius=10.0, std=0.1)
    z = prior.sample(400, generator=torch.Generator().manual_seed(0))
    nearest = torch.cdist(z, prior.means).min(dim=1).values
    assert nearest.max() < 1.0
    assert torch.allclose(prior.means.norm(dim=1), torch.full((4,), 10.0))


@pytest.mark.parametrize("layout", ["circle", "sphere", "axes"])
def test_gmm_layouts_place_distinct_means_at_the_radius(layout):
    means = component_means(layout, 6, 3, radius=2.0)
    assert means.shape == (6, 3)
    assert torch.allclose(means.norm(dim=1), torch.full((6,), 2.0), atol=1e-5)
    assert torch.pdist(means).min() > 0.5


def test_gmm_axes_layout_with_k_equal_dim_is_one_hot():
    assert torch.equal(component_means("axes", 10, 10, radius=1.0), torch.eye(10))


def test_swiss_roll_lies_on_the_roll():
    prior = SwissRollPrior(scale=2.0)
    z = prior.sample(1000, generator=torch.Generator().manual_seed(0))
    t = torch.hypot(z[:, 0], z[:, 2]) / 2.0        # radius = t * scale
    assert t.min() >= 1.5 * math.pi - 1e-4 and t.max() <= 4.5 * math.pi + 1e-4
    assert z[:, 1].min() >= 0 and z[:, 1].max() <= 42.0


def test_swiss_roll_walks_go_along_and_across():
    prior = SwissRollPrior()
    along, across = prior.walk(5, "roll"), prior.walk(5, "height")
    assert torch.allclose(along[:, 1], torch.full((5,), 10.5))          # fixed height
    assert torch.allclose(across[:, [0, 2]], across[:1, [0, 2]].expand(5, 2))


def test_swiss_roll_rejects_a_code_that_is_not_3d():
    with pytest.raises(ConfigError, match="latent_dim = 3"):
        create_prior("swiss_roll", dim=2)


def test_create_prior_names_the_options_of_the_prior():
    with pytest.raises(ConfigError, match="n_components, layout"):
        create_prior("gmm", n_component=3)


@pytest.mark.parametrize("options, match", [
    ({"layout": "spiral"}, "Allowed: circle, sphere, axes, random"),
    ({"std": 0.0}, "std must be a positive number"),
    ({"n_components": 7, "dim": 3, "layout": "axes"}, "at most 2 \\* dim = 6"),
])
def test_gmm_bad_options_name_the_value(options, match):
    with pytest.raises(ConfigError, match=match):
        create_prior("gmm", **options)
