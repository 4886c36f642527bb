from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

from aelab.errors import AelabError, ConfigError
from aelab.models import DenseAE, create_model, model_spec


def test_create_model_unknown_option_suggests_close_match():
    with pytest.raises(ConfigError, match=r"model\.latent_dimm: unknown option for model "
                                          r"'dense'\. Did you mean 'latent_dim'\?"):
        create_model("dense", (1, 8, 8), latent_dimm=4)


def test_create_model_unknown_option_lists_allowed_options():
    with pytest.raises(ConfigError) as info:
        create_model("conv", (1, 8, 8), colour="red")
    allowed = [p for p in inspect.signature(create_model.__globals__["MODELS"].get("conv"))
               .parameters if p != "input_shape"]
    assert str(info.value).endswith(f"Allowed: {', '.join(allowed)}.")
    assert "Did you mean" not in str(info.value)


def test_create_model_unknown_name_suggests_close_match():
    with pytest.raises(ConfigError, match=r"model\.name: unknown model 'dens'\. "
                                          r"Did you mean 'dense'\?"):
        create_model("dens", (1, 8, 8))


@pytest.mark.parametrize("latent_dim", [0, -3, 2.5, True])
def test_create_model_bad_latent_dim_names_key_and_value(latent_dim):
    with pytest.raises(ConfigError, match=rf"model\.latent_dim must be an integer >= 1; "
                                          rf"got {latent_dim!r}"):
        create_model("dense", (1, 8, 8), latent_dim=latent_dim)


@pytest.mark.parametrize("shape", [(28, 28), (1, 0, 8), "1x8x8"])
def test_create_model_bad_input_shape_is_rejected(shape):
    with pytest.raises(ConfigError, match=r"input_shape must be \(channels, height, width\)"):
        create_model("dense", shape)


def test_create_model_accepts_lists_and_numpy_ints():
    model = create_model("conv", [np.int64(1), 8, 8], latent_dim=np.int64(3), channels=[4])
    assert model.input_shape == (1, 8, 8) and model.latent_dim == 3
    assert json.loads(json.dumps(model_spec(model)))["kwargs"]["latent_dim"] == 3


def test_model_spec_records_every_option_with_defaults():
    spec = model_spec(create_model("dense", (1, 8, 8), latent_dim=4))
    assert spec == {"name": "dense", "input_shape": [1, 8, 8], "kwargs": {
        "latent_dim": 4, "hidden": [512, 256], "activation": "relu", "code_activation": None,
        "batch_norm": False, "dropout": 0.0, "decoder_hidden": None,
        "decoder_activation": None}}


def test_model_spec_rebuilds_the_same_architecture():
    model = create_model("conv", (3, 32, 32), channels=[4, 8], upsample="unpool",
                         bottleneck="none")
    spec = model_spec(model)
    rebuilt = create_model(spec["name"], spec["input_shape"], **spec["kwargs"])
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes


def test_model_spec_is_a_copy():
    model = create_model("dense", (1, 8, 8), hidden=[16])
    model_spec(model)["kwargs"]["hidden"].append(3)
    assert model_spec(model)["kwargs"]["hidden"] == [16]


def test_model_spec_of_directly_built_model_says_to_use_create_model():
    with pytest.raises(AelabError, match=r"DenseAE was built directly.*create_model"):
        model_spec(DenseAE((1, 8, 8)))
