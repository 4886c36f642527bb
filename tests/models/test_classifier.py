"""The reference classifiers: shapes, features, options, save/load."""

import pytest
import torch

from aelab.errors import ConfigError, DataError
from aelab.models.classifier import (
    CLASSIFIERS,
    create_classifier,
    load_classifier,
    save_classifier,
)


@pytest.mark.parametrize("name,shape", [("cnn", (1, 28, 28)), ("cnn", (3, 32, 32)),
                                        ("mlp", (1, 8, 8)), ("mlp", (30,))])
def test_logits_and_features_shapes(name, shape):
    model = create_classifier(name, shape, n_classes=7).eval()
    x = torch.rand(4, *shape)
    assert model(x).shape == (4, 7)
    feats = model.features(x)
    assert feats.ndim == 2 and feats.shape[0] == 4


def test_registry_names():
    assert {"cnn", "mlp"} <= set(CLASSIFIERS.names())


def test_unknown_option_suggests_close_match():
    with pytest.raises(ConfigError, match="Did you mean 'hidden'"):
        create_classifier("mlp", (10,), hiden=[5])


def test_cnn_rejects_vectors_and_too_many_stages():
    with pytest.raises(ConfigError, match="mlp"):
        create_classifier("cnn", (30,))
    with pytest.raises(ConfigError, match="too many"):
        create_classifier("cnn", (1, 8, 8), channels=[4, 4, 4, 4])


@pytest.mark.parametrize("name,shape", [("cnn", (1, 8, 8)), ("mlp", (12,))])
def test_save_load_roundtrip_gives_identical_logits(tmp_path, name, shape):
    torch.manual_seed(0)
    model = create_classifier(name, shape, n_classes=3, **({"hidden": [16]} if name == "mlp"
                                                           else {"channels": [4], "hidden": 8}))
    model.eval()
    path = save_classifier(model, tmp_path / "judge.safetensors")
    again = load_classifier(path)
    x = torch.rand(5, *shape)
    assert torch.equal(model(x), again(x))


def test_load_rejects_foreign_file(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(DataError, match="save_classifier"):
        load_classifier(path)
