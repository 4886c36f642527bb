"""`aelab upscale`'s own path: the fused inference equals the model, the chroma is Pillow's
bicubic, bf16 stays close to fp32 (PSNR within 0.05 dB), CUDA matches the CPU, and --device
and --precision behave on the command line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from aelab.cli import main
from aelab.models.espcn import create_upscaler
from aelab.sr.bicubic import upscale, upscale_axis
from aelab.sr.color import rgb_to_ycbcr, ycbcr_to_rgb
from aelab.sr.datasets import SRImage
from aelab.sr.images import upscale_image
from aelab.sr.metrics import psnr_y
from aelab.sr.resize import upscale_plane
from aelab.sr.tiled import upscale_whole
from aelab.sr.train import SRConfig, train_espcn

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def random_model(scale=3, color="y"):
    torch.manual_seed(0)
    return create_upscaler("espcn", scale=scale, color=color).eval()


def nearest_model(scale=3, eps=0.1):
    """An ESPCN whose output is (to within tanh's curvature at 0.1) nearest-neighbour
    upscaling: a deterministic stand-in for a trained model, with realistic PSNRs."""
    m = create_upscaler("espcn", scale=scale)
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
        m.body[0].weight[0, 0, 2, 2] = eps
        m.body[2].weight[0, 0, 1, 1] = 1.0
        m.head.weight[:, 0, 1, 1] = 1.0 / eps
    return m.eval()


def smooth_photo(h=48, w=60, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    f = rng.uniform(2, 6, 3)
    img = 127 + 100 * np.sin(f[0] * 6 * xx + f[1] * 4 * yy)[..., None] * np.array([1, .7, .4])
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


def test_infer_equals_forward_without_padding():
    m = random_model()
    x = torch.rand(2, 1, 30, 27, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(m.infer(x), m(x, pad=False), atol=1e-5, rtol=0)


@pytest.mark.parametrize(("h", "w", "r"), [(20, 31, 3), (9, 8, 2), (5, 7, 4), (40, 33, 3)])
def test_bicubic_equals_pillow_on_float_planes(h, w, r):
    x = np.random.default_rng(0).random((2, h, w), dtype=np.float32) * 255
    ref = np.stack([upscale_plane(p, r) for p in x])
    np.testing.assert_allclose(upscale(torch.from_numpy(x), r).numpy(), ref, atol=1e-3)


def test_bicubic_of_bands_with_context_equals_the_whole_image():
    x = torch.from_numpy(np.random.default_rng(1).random((2, 50, 40), dtype=np.float32))
    whole = upscale_axis(x, 3, -2)
    for a, b in [(0, 16), (16, 32), (32, 50)]:
        band = upscale_axis(x[:, max(a - 2, 0):min(b + 2, 50)], 3, -2, lo_edge=a == 0,
                            hi_edge=b == 50)
        torch.testing.assert_close(band, whole[:, 3 * a:3 * b], atol=1e-5, rtol=0)


def test_upscale_image_is_y_by_the_model_and_chroma_by_bicubic():
    m, image = random_model(), smooth_photo()
    ycc = rgb_to_ycbcr(image)
    y = np.clip(upscale_whole(m, ycc[None, :, :, 0] / 255.0)[0] * 255, 0, 255)
    chroma = [upscale_plane(ycc[:, :, k], 3) for k in (1, 2)]
    ref = ycbcr_to_rgb(np.stack([y, *chroma], axis=-1))
    out = upscale_image(m, image, tile=20, overlap=10)
    assert out.shape == (144, 180, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1        # rounding only


def test_upscale_image_bf16_psnr_within_0_05_db_of_fp32():
    m, hr = nearest_model(), smooth_photo(60, 75)
    lr = np.asarray(Image.fromarray(hr).resize((25, 20), Image.Resampling.BICUBIC))
    out = {p: upscale_image(m, lr, tile=16, overlap=10, precision=p) for p in ("fp32", "bf16")}
    psnr = {p: psnr_y(rgb_to_ycbcr(hr)[..., 0], rgb_to_ycbcr(o)[..., 0], 3)
            for p, o in out.items()}
    assert psnr["fp32"] > 20                         # a real upscaler, not noise
    assert abs(psnr["bf16"] - psnr["fp32"]) < 0.05
    assert np.abs(out["bf16"].astype(int) - out["fp32"].astype(int)).mean() < 0.5


def test_upscale_image_grey_and_rgb_models_keep_the_layout():
    grey = smooth_photo()[..., 0]
    assert upscale_image(random_model(2), grey, tile=None).shape == (96, 120)
    rgb = upscale_image(random_model(2, "rgb"), smooth_photo(), tile=16, overlap=10)
    assert rgb.shape == (96, 120, 3) and rgb.dtype == np.uint8


@cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_upscale_image_on_cuda_matches_the_cpu(precision):
    m, image = random_model(), smooth_photo()
    cpu = upscale_image(m, image, tile=20, overlap=10, precision=precision)
    gpu = upscale_image(m, image, tile=20, overlap=10, device="cuda", precision=precision)
    assert np.abs(cpu.astype(int) - gpu.astype(int)).max() <= (2 if precision == "fp32" else 6)


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory):
    cfg = SRConfig(scale=2, patch=12, batch_size=4, steps=2, eval_every=2, val_images=0)
    images = [SRImage(f"p{i}", smooth_photo(40, 40, i)) for i in range(2)]
    return train_espcn(cfg, tmp_path_factory.mktemp("sr") / "run", images=images)


def test_cli_upscale_bf16_writes_an_image_close_to_fp32(sr_run, tmp_path):
    Image.fromarray(smooth_photo()).save(tmp_path / "in.png")
    for p in ("fp32", "bf16"):
        assert main(["upscale", str(sr_run), str(tmp_path / "in.png"), "--out",
                     str(tmp_path / p), "--device", "cpu", "--precision", p]) == 0
    a, b = (np.asarray(Image.open(tmp_path / p / "in_x2.png"), int) for p in ("fp32", "bf16"))
    assert a.shape == (96, 120, 3) and np.abs(a - b).mean() < 1.0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where there is no GPU")
def test_cli_upscale_device_cuda_without_gpu_is_an_error_and_writes_nothing(sr_run, tmp_path,
                                                                             capsys):
    Image.fromarray(smooth_photo()).save(tmp_path / "in.png")
    code = main(["upscale", str(sr_run), str(tmp_path / "in.png"), "--out",
                 str(tmp_path / "o"), "--device", "cuda"])
    assert code == 2
    assert "--device" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
