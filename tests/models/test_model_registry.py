"""Registry-wide checks (after timm's test_models.py): every registered model, a tiny config,
three input shapes. A new family only needs an entry in TINY."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

from aelab.models import create_model, list_models, load_model, model_spec, save_model

TINY = {
    "dense": {"latent_dim": 4, "hidden": [16]},
    "conv": {"latent_dim": 4, "channels": [4, 8]},
    "vae_dense": {"latent_dim": 4, "hidden": [16]},
    "vae_conv": {"latent_dim": 4, "channels": [4, 8]},
}
SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]
CASES = [(name, shape) for name in list_models() for shape in SHAPES]
IDS = [f"{name}-{'x'.join(map(str, shape))}" for name, shape in CASES]


def build(name: str, shape: tuple[int, int, int], seed: int = 0):
    if name not in TINY:
        pytest.fail(f"model {name!r} has no tiny config: add one to TINY in {__file__}")
    torch.manual_seed(seed)
    return create_model(name, shape, **TINY[name])


def batch(shape: tuple[int, int, int], n: int = 4) -> torch.Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(1))


def test_registry_lists_every_family():
    assert set(TINY) <= set(list_models())


@pytest.mark.parametrize(("name", "shape"), CASES, ids=IDS)
def test_model_output_shape_matches_input(name, shape):
    x = batch(shape)
    assert build(name, shape)(x).x_logits.shape == x.shape


@pytest.mark.parametrize(("name", "shape"), CASES, ids=IDS)
def test_model_code_has_latent_dim_features(name, shape):
    z = build(name, shape)(batch(shape)).z
    assert z.shape[:2] == (4, TINY[name]["latent_dim"])


@pytest.mark.parametrize(("name", "shape"), CASES, ids=IDS)
def test_model_every_parameter_gets_finite_nonzero_grad(name, shape):
    model = build(name, shape).train()
    x = batch(shape)
    loss = F.binary_cross_entropy_with_logits(model(x).x_logits, x)
    loss.backward()
    assert torch.isfinite(loss)
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{pname} has an all-zero gradient"


@pytest.mark.parametrize(("name", "shape"), CASES, ids=IDS)
def test_model_output_fields_match_provides(name, shape):
    model = build(name, shape)
    out = model(batch(shape))
    filled = {field for field, value in out._asdict().items() if value is not None}
    assert filled == set(model.provides)


@pytest.mark.parametrize("name", list_models())
def test_model_seeded_builds_have_identical_weights(name):
    a, b = build(name, (1, 8, 8), seed=3).state_dict(), build(name, (1, 8, 8), seed=3).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", list_models())
def test_model_different_seeds_give_different_weights(name):
    a, b = build(name, (1, 8, 8), seed=3).state_dict(), build(name, (1, 8, 8), seed=4).state_dict()
    assert not all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(("name", "shape"), CASES, ids=IDS)
def test_model_save_load_gives_identical_outputs(name, shape, tmp_path):
    model = build(name, shape)
    # One training step so that weights (and batch-norm statistics) differ from a fresh build.
    F.mse_loss(model(batch(shape)).x_logits, batch(shape)).backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    save_model(model, tmp_path / "model.safetensors")
    loaded = load_model(tmp_path / "model.safetensors")
    model.eval()
    x = batch(shape)
    with torch.no_grad():
        assert torch.equal(model(x).x_logits, loaded(x).x_logits)


@pytest.mark.parametrize("name", list_models())
def test_model_save_load_keeps_spec(name, tmp_path):
    model = build(name, (1, 8, 8))
    save_model(model, tmp_path / "model.safetensors")
    assert model_spec(load_model(tmp_path / "model.safetensors")) == model_spec(model)


@pytest.mark.parametrize("name", list_models())
def test_model_file_is_plain_safetensors_with_spec(name, tmp_path):
    model = build(name, (1, 8, 8))
    save_model(model, tmp_path / "model.safetensors")
    tensors = load_file(tmp_path / "model.safetensors")     # no pickle involved
    with safe_open(tmp_path / "model.safetensors", framework="pt") as f:
        metadata = f.metadata()
    assert tensors.keys() == model.state_dict().keys()
    assert json.loads(metadata["aelab_model"]) == model_spec(model)
