import numpy as np
import pytest
import torch
from PIL import Image

from aelab.cli import main
from aelab.config import RunConfig
from aelab.restore import restore_image
from aelab.runs import load_run, train_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    cfg = RunConfig.from_dict({
        "name": "tiny_denoise",
        "data": {"name": "digits", "limit": 200, "test_limit": 50},
        "model": {"name": "conv", "latent_dim": 8, "channels": [8], "bottleneck": "none"},
        "corruption": [{"name": "gaussian", "factor": 0.3}],
        "train": {"epochs": 1, "batch_size": 32}})
    return train_run(cfg, tmp_path_factory.mktemp("run"), overwrite=True)


def test_denoising_run_reports_restored_and_corrupted_metrics(run_dir):
    import json

    m = json.loads((run_dir / "metrics.json").read_text())
    assert {"test_restored_psnr_db", "test_corrupted_psnr_db", "test_gain_psnr_db"} <= set(m)
    assert (run_dir / "figures" / "restoration.png").is_file()


def test_restore_writes_an_image_of_the_input_size(run_dir, tmp_path):
    img = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (37, 53), np.uint8)).save(img)
    assert main(["restore", str(run_dir), str(img), "--out", str(tmp_path / "out")]) == 0
    out = Image.open(tmp_path / "out" / "photo-restored.png")
    assert out.size == (53, 37) and out.mode == "L"


def test_restore_of_tiles_matches_the_model_on_a_single_tile(run_dir):
    _, model = load_run(run_dir)
    img = np.random.default_rng(1).integers(0, 255, (1, 8, 8), np.uint8)
    from aelab.restore import restore_array

    whole = restore_array(model, img[None] / np.float32(255))[0]
    assert np.allclose(restore_image(model, img), whole, atol=1e-6)


def test_tiled_restore_blends_without_seams_on_a_constant_image(run_dir):
    _, model = load_run(run_dir)
    out = restore_image(model, np.full((1, 30, 45), 128, np.uint8), overlap=4)
    assert out.shape == (1, 30, 45)
    inner = out[0, 8:-8, 8:-8]      # away from the image border every tile sees the same
    assert inner.max() - inner.min() < 0.05


@pytest.mark.parametrize("content, match", [
    (b"", "is empty"),
    (b"not an image at all", "cannot read"),
])
def test_restore_bad_file_is_a_clear_error_and_writes_nothing(run_dir, tmp_path, capsys,
                                                              content, match):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    assert main(["restore", str(run_dir), str(bad), "--out", str(tmp_path / "out")]) == 2
    assert match in capsys.readouterr().err
    assert not any((tmp_path / "out").iterdir())


def test_restore_grey_model_on_colour_file_is_an_error(run_dir, tmp_path, capsys):
    rgb = np.zeros((20, 20, 3), np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(tmp_path / "red.png")
    good = tmp_path / "grey.png"
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(good)
    code = main(["restore", str(run_dir), str(tmp_path / "red.png"), str(good),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "colour image but the model is greyscale" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["grey-restored.png"]


def test_restore_bf16_is_close_to_fp32(run_dir, tmp_path):
    img = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (30, 41), np.uint8)).save(img)
    for p in ("fp32", "bf16"):
        assert main(["restore", str(run_dir), str(img), "--out", str(tmp_path / p),
                     "--device", "cpu", "--precision", p]) == 0
    a, b = (np.asarray(Image.open(tmp_path / p / "photo-restored.png"), int)
            for p in ("fp32", "bf16"))
    assert a.shape == (30, 41) and np.abs(a - b).mean() < 2.0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where there is no GPU")
def test_restore_device_cuda_without_gpu_is_an_error_and_writes_nothing(run_dir, tmp_path,
                                                                         capsys):
    img = tmp_path / "photo.png"
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(img)
    code = main(["restore", str(run_dir), str(img), "--out", str(tmp_path / "out"),
                 "--device", "cuda"])
    assert code == 2
    assert "--device" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_restore_image_on_cuda_matches_the_cpu(run_dir):
    _, model = load_run(run_dir)
    img = np.random.default_rng(3).integers(0, 255, (1, 30, 45), np.uint8)
    cpu = restore_image(model, img, overlap=4)
    gpu = restore_image(model, img, overlap=4, device="cuda")
    assert np.abs(cpu - gpu).max() < 1e-3
