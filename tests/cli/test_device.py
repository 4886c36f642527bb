"""--device and --precision on the commands that apply a trained run (evaluate, reconstruct,
generate), in-process on a tiny conv VAE trained on the bundled digits; on CUDA where there is
one."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from aelab.cli import main

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in" / "digit.png"
    path.parent.mkdir()
    Image.fromarray(np.tile(np.arange(8, dtype=np.uint8) * 30, (8, 1))).save(path)
    return path


def _pixels(folder):
    return {p.name: np.asarray(Image.open(p), dtype=np.int16) for p in sorted(folder.glob("*.png"))}


def test_no_gpu_here_is_a_user_error_naming_the_option_and_nothing_is_written(vae_run, image,
                                                                              tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    for argv in (["reconstruct", str(vae_run), str(image), "--out", str(tmp_path / "rec")],
                 ["generate", str(vae_run), "--n", "4", "--out", str(tmp_path / "gen")],
                 ["evaluate", str(vae_run)]):
        assert main([*argv, "--device", "cuda"]) == 2
        assert "--device = 'cuda' but no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "rec").exists() and not (tmp_path / "gen").exists()
    assert main(["evaluate", str(vae_run), "--device", "tpu"]) == 2
    assert "--device = 'tpu' is not a device" in capsys.readouterr().err


def test_bf16_applies_within_bf16_rounding_of_fp32(vae_run, image, tmp_path):
    out = {}
    for precision in ("fp32", "bf16"):
        for cmd, extra in (("reconstruct", [str(image)]), ("generate", ["--n", "4"])):
            dest = tmp_path / precision / cmd
            assert main([cmd, str(vae_run), *extra, "--out", str(dest), "--device", "cpu",
                         "--precision", precision]) == 0
            out[precision, cmd] = _pixels(dest)
    for cmd in ("reconstruct", "generate"):
        a, b = out["fp32", cmd], out["bf16", cmd]
        assert a.keys() == b.keys() and a
        for name in a:       # bf16 keeps 8 bits of mantissa: pixels move by a few levels
            assert np.abs(a[name] - b[name]).max() <= 12, (cmd, name)
        assert any((a[name] != b[name]).any() for name in a), f"{cmd} ignored --precision"


def test_evaluate_in_bf16_says_so_in_the_metrics(vae_run, capsys):
    assert main(["evaluate", str(vae_run), "--precision", "bf16"]) == 0
    bf16 = json.loads((vae_run / "metrics.json").read_text())
    assert bf16["eval_precision"] == "bf16"
    assert main(["evaluate", str(vae_run)]) == 0
    fp32 = json.loads((vae_run / "metrics.json").read_text())
    assert "eval_precision" not in fp32
    assert bf16["test_mse"] == pytest.approx(fp32["test_mse"], rel=0.05)


@CUDA
def test_apply_commands_on_cuda_match_the_cpu(vae_run, image, tmp_path):
    for device in ("cpu", "cuda"):
        assert main(["reconstruct", str(vae_run), str(image), "--out", str(tmp_path / device),
                     "--device", device]) == 0
        assert main(["generate", str(vae_run), "--n", "4", "--out", str(tmp_path / f"g{device}"),
                     "--device", device]) == 0
    for a, b in (("cpu", "cuda"), ("gcpu", "gcuda")):
        pa, pb = _pixels(tmp_path / a), _pixels(tmp_path / b)
        assert pa.keys() == pb.keys()
        for name in pa:
            assert np.abs(pa[name] - pb[name]).max() <= 2
    assert main(["evaluate", str(vae_run), "--device", "cuda"]) == 0
