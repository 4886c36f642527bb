"""`aelab export`: ONNX files that onnxruntime runs like torch, on a tiny digits run and a tiny
ESPCN run, with dynamic batch (and height/width for the upscaler)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aelab.cli import main
from aelab.config import RunConfig
from aelab.errors import ConfigError, ExportError
from aelab.infer import reconstruct
from aelab.runs import load_run, train_run
from aelab.sr.datasets import SRImage
from aelab.sr.train import SRConfig, load_sr_run, train_espcn

ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: "
                          "pip install 'aelab[onnx]'")
pytest.importorskip("onnx", reason="the onnx extra is not installed: pip install 'aelab[onnx]'")
pytest.importorskip("onnxscript", reason="the onnx extra is not installed")

from aelab.export import TOLERANCE, export_onnx  # noqa: E402


@pytest.fixture(scope="module")
def denoiser(tmp_path_factory):
    cfg = RunConfig.from_dict({
        "name": "tiny_denoise", "data": {"name": "digits", "limit": 200, "test_limit": 20},
        "model": {"name": "conv", "latent_dim": 8, "channels": [8], "bottleneck": "none"},
        "corruption": [{"name": "gaussian", "factor": 0.3}],
        "train": {"epochs": 1, "batch_size": 32}})
    return train_run(cfg, tmp_path_factory.mktemp("run"), overwrite=True)


@pytest.fixture(scope="module")
def espcn(tmp_path_factory):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:48] / 48
    photos = [SRImage(f"p{i}", np.clip(127 + 100 * np.sin(f[0] * 6 * xx + f[1] * 4 * yy),
                                       0, 255).astype(np.uint8))
              for i, f in enumerate(rng.uniform(2, 6, (3, 2)))]
    cfg = SRConfig(scale=2, patch=12, batch_size=4, steps=4, eval_every=4, val_images=1,
                   features=(8, 4), color="grey")
    return train_espcn(cfg, tmp_path_factory.mktemp("sr"), images=photos)


def test_export_autoencoder_cli_matches_torch_on_a_new_batch_size(denoiser, capsys):
    assert main(["export", str(denoiser), "--format", "onnx"]) == 0
    printed = capsys.readouterr().out
    assert "max abs difference" in printed
    info = json.loads((denoiser / "autoencoder.json").read_text())
    assert info["part"] == "autoencoder" and info["max_abs_diff"] <= TOLERANCE
    assert [v["name"] for v in info["inputs"]] == ["x"]
    assert [v["name"] for v in info["outputs"]] == ["x_rec", "z"]
    assert info["inputs"][0]["shape"] == ["batch", 1, 8, 8]
    # The decoder upsamples to the training sizes, so height and width stay fixed.
    assert info["dynamic_height_width"] is False
    # Independently of the export's own check: 7 random images against aelab's reconstruct().
    _, model = load_run(denoiser)
    images = np.random.default_rng(3).integers(0, 256, (7, 1, 8, 8), dtype=np.uint8)
    session = ort.InferenceSession(str(denoiser / "autoencoder.onnx"),
                                   providers=["CPUExecutionProvider"])
    x_rec, z = session.run(None, {"x": images.astype(np.float32) / 255})
    np.testing.assert_allclose(x_rec, reconstruct(model, images), atol=TOLERANCE)
    assert z.shape[0] == 7


def test_export_decoder_takes_codes(denoiser, tmp_path):
    info = export_onnx(denoiser, part="decoder", out=tmp_path / "dec.onnx")
    assert (tmp_path / "dec.json").is_file() and info["file"] == "dec.onnx"
    assert [v["name"] for v in info["inputs"]] == ["z"]
    assert info["outputs"][0]["shape"] == ["batch", 1, 8, 8]
    assert info["max_abs_diff"] <= TOLERANCE


def test_export_upscaler_has_dynamic_height_and_width(espcn):
    info = export_onnx(espcn)
    assert info["part"] == "upscaler" and info["scale"] == 2
    assert info["inputs"][0]["shape"] == ["batch", 1, "height", "width"]
    assert info["outputs"][0]["shape"] == ["batch", 1, "2*height", "2*width"]
    assert info["dynamic_height_width"] is True and info["max_abs_diff"] <= TOLERANCE
    _, model = load_sr_run(espcn)
    x = torch.rand(2, 1, 23, 37, generator=torch.Generator().manual_seed(1))
    session = ort.InferenceSession(str(espcn / "upscaler.onnx"),
                                   providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(y, model(x).numpy(), atol=TOLERANCE)


def test_export_rejects_a_part_the_run_lacks(espcn):
    with pytest.raises(ConfigError, match="'encoder' is not a part.*choose one of: upscaler"):
        export_onnx(espcn, part="encoder")


def test_export_over_the_tolerance_is_an_error_and_leaves_no_file(denoiser, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setattr("aelab.export.TOLERANCE", -1.0)   # any difference, even 0, is too big
    with pytest.raises(ExportError, match="differs from torch by up to"):
        export_onnx(denoiser, part="encoder", out=tmp_path / "enc.onnx")
    assert not (tmp_path / "enc.onnx").exists() and not (tmp_path / "enc.json").exists()
