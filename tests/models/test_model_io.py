from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

import aelab.models.io as model_io
from aelab.errors import DataError
from aelab.models import create_model, load_model, save_model


def tiny(latent_dim: int = 4):
    torch.manual_seed(0)
    return create_model("dense", (1, 8, 8), latent_dim=latent_dim, hidden=[8])


def test_save_model_leaves_only_the_target_file(tmp_path):
    save_model(tiny(), tmp_path / "model.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_save_model_replaces_an_existing_file(tmp_path):
    save_model(tiny(latent_dim=4), tmp_path / "model.safetensors")
    save_model(tiny(latent_dim=6), tmp_path / "model.safetensors")
    assert load_model(tmp_path / "model.safetensors").latent_dim == 6


def test_save_model_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    save_model(tiny(), path)
    before = path.read_bytes()

    def crash(tensors, filename, metadata=None):
        open(filename, "wb").write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(model_io, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        save_model(tiny(latent_dim=6), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_load_model_returns_model_in_eval_mode(tmp_path):
    save_model(tiny().train(), tmp_path / "model.safetensors")
    assert not load_model(tmp_path / "model.safetensors").training


def test_load_model_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load_model(tmp_path / "nope.safetensors")


def test_load_model_truncated_file_is_data_error(tmp_path):
    path = tmp_path / "model.safetensors"
    save_model(tiny(), path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match="not a readable safetensors file"):
        load_model(path)


def test_load_model_without_spec_metadata_is_data_error(tmp_path):
    save_file(tiny().state_dict(), tmp_path / "bare.safetensors")
    with pytest.raises(DataError, match="has no 'aelab_model' metadata"):
        load_model(tmp_path / "bare.safetensors")


def test_load_model_weights_that_do_not_fit_the_spec_are_data_error(tmp_path):
    spec = {"name": "dense", "input_shape": [1, 8, 8], "kwargs": {"latent_dim": 5, "hidden": [8]}}
    save_file(tiny(latent_dim=4).state_dict(), tmp_path / "m.safetensors",
              metadata={"aelab_model": json.dumps(spec)})
    with pytest.raises(DataError, match="do not fit the 'dense' model"):
        load_model(tmp_path / "m.safetensors")


def test_load_model_unknown_option_in_spec_is_data_error(tmp_path):
    spec = {"name": "dense", "input_shape": [1, 8, 8], "kwargs": {"width": 5}}
    save_file(tiny().state_dict(), tmp_path / "m.safetensors",
              metadata={"aelab_model": json.dumps(spec)})
    with pytest.raises(DataError, match=r"not buildable: model\.width: unknown option"):
        load_model(tmp_path / "m.safetensors")
