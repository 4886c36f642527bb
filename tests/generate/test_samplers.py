"""Samplers on tiny untrained/trained models: shapes, ranges, determinism, and behaviour."""

import numpy as np
import pytest
import torch

from aelab.errors import ConfigError
from aelab.generate import samplers
from aelab.models import create_model
from aelab.models.classifier import create_classifier


@pytest.fixture
def vae():
    torch.manual_seed(0)
    return create_model("vae_dense", input_shape=(1, 8, 8), latent_dim=4, hidden=[16]).eval()


@pytest.fixture
def ae():
    torch.manual_seed(0)
    return create_model("dense", input_shape=(1, 8, 8), latent_dim=4, hidden=[16]).eval()


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_prior_returns_images_in_unit_range(vae):
    x = samplers.prior(vae, 5, generator=_gen())
    assert x.shape == (5, 1, 8, 8) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1


def test_prior_is_repeatable_with_the_same_generator_seed(vae):
    a = samplers.prior(vae, 3, generator=_gen(1))
    b = samplers.prior(vae, 3, generator=_gen(1))
    c = samplers.prior(vae, 3, generator=_gen(2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_prior_on_plain_autoencoder_is_a_config_error(ae):
    with pytest.raises(ConfigError, match="class_gaussian"):
        samplers.prior(ae, 2, generator=_gen())


def test_class_gaussian_with_zero_scale_decodes_the_class_mean(ae, tiny_images):
    x = tiny_images[:10]
    mean_code = samplers.encode(ae, x).mean(0)
    expected = samplers.decode(ae, mean_code[None])
    got = samplers.class_gaussian(ae, x, 3, generator=_gen(), scale=0.0)
    np.testing.assert_allclose(got, np.repeat(expected, 3, axis=0), atol=1e-6)


def test_class_gaussian_codes_follow_the_class_spread(ae, tiny_images):
    # Sampled codes (re-encoded is not exact, so check the codes themselves via decode input):
    # with scale 1 the samples differ from each other, with scale 0 they do not.
    x = tiny_images[:20]
    spread1 = samplers.class_gaussian(ae, x, 50, generator=_gen(), scale=1.0).std(0).mean()
    spread0 = samplers.class_gaussian(ae, x, 50, generator=_gen(), scale=0.0).std(0).mean()
    assert spread1 > 10 * spread0


def test_perturb_with_zero_scale_reproduces_the_reconstructions(ae, tiny_images):
    x = tiny_images[:4]
    rec = samplers.decode(ae, samplers.encode(ae, x))
    got = samplers.perturb(ae, x, 8, scale=0.0, generator=_gen())
    np.testing.assert_allclose(got, np.concatenate([rec, rec]), atol=1e-6)


def test_interpolate_ends_are_the_two_reconstructions(ae, tiny_images):
    a, b = tiny_images[0], tiny_images[1]
    strip = samplers.interpolate(ae, a, b, steps=5)
    rec = samplers.decode(ae, samplers.encode(ae, np.stack([a, b])))
    assert strip.shape == (5, 1, 8, 8)
    np.testing.assert_allclose(strip[[0, -1]], rec, atol=1e-6)


def test_extrapolation_reports_the_first_scale_where_the_label_changes(ae, tiny_images):
    # A judge that says class 1 when the image is bright on average, else class 0: walking
    # along a direction that brightens the decoded image must flip 0 -> 1 at some scale.
    class Brightness(torch.nn.Module):
        def __init__(self, threshold):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.threshold = threshold

        def forward(self, x):
            m = x.mean(dim=(1, 2, 3))
            return torch.stack([self.threshold - m, m - self.threshold], 1) * 100

    x = tiny_images[0]
    spread = np.ones(4)
    # find a direction that raises the mean brightness
    z = samplers.encode(ae, x[None])[0]
    eye = np.concatenate([np.eye(4), -np.eye(4)])
    gains = [samplers.decode(ae, (z + 3 * e)[None]).mean() for e in eye]
    direction = eye[int(np.argmax(gains))]
    start = samplers.decode(ae, z[None]).mean()
    assert max(gains) > start + 0.01   # the set-up itself works
    judge = Brightness(threshold=(start + max(gains)) / 2)
    walk = samplers.extrapolate_until_flip(ae, judge, x, 0, direction, spread=spread,
                                           max_scale=3.0, step=0.25)
    assert 0 < walk["flip_scale"] <= 3.0
    k = int(np.flatnonzero(walk["scales"] == walk["flip_scale"])[0])
    assert (walk["predicted"][:k] == 0).all() and walk["predicted"][k] == 1


def test_extrapolation_that_never_flips_reports_nan(ae, tiny_images):
    judge = create_classifier("mlp", (1, 8, 8), 2, hidden=[4])
    with torch.no_grad():
        judge.out.bias.copy_(torch.tensor([100.0, -100.0]))   # always class 0
    walk = samplers.extrapolate_until_flip(ae, judge, tiny_images[0], 0, np.ones(4),
                                           spread=np.ones(4), max_scale=2.0, step=0.5)
    assert np.isnan(walk["flip_scale"]) and len(walk["scales"]) == 5


def test_to_uint8_rounds_and_clips():
    out = samplers.to_uint8(np.array([-0.1, 0.0, 0.5, 1.0, 1.2]))
    assert out.tolist() == [0, 0, 128, 255, 255]
