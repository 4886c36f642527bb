"""The CLI, tested in-process: main([...]) with tiny settings on the bundled digits."""

import base64
import json
import re

import numpy as np
import pytest
from PIL import Image

from aelab.cli import main

TINY = ["--set", "train.epochs=1", "--set", "data.limit=200", "--set", "data.test_limit=50",
        "--set", "model.channels=[4, 8]"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "demo"
    assert main(["train", "configs/demo.toml", *TINY, "--out", str(out)]) == 0
    return out


def test_cli_train_writes_run_folder(run_dir):
    for name in ("config.json", "env.json", "model.safetensors", "history.csv",
                 "metrics.json", "report.html", "figures/loss_curves.png",
                 "figures/reconstructions.png"):
        assert (run_dir / name).is_file(), name


def test_cli_train_metrics_have_required_keys(run_dir):
    m = json.loads((run_dir / "metrics.json").read_text())
    for key in ("test_mse", "test_bce", "test_psnr_db", "test_ssim", "parameters",
                "train_seconds", "train_images_per_second", "epochs", "n_train", "n_test"):
        assert key in m, key
    assert m["epochs"] == 1 and m["n_test"] == 50 and m["n_train"] == 180
    assert 0 < m["test_mse"] < 0.25


def test_cli_train_records_resolved_config_and_env(run_dir):
    cfg = json.loads((run_dir / "config.json").read_text())
    env = json.loads((run_dir / "env.json").read_text())
    assert cfg["train"]["epochs"] == 1 and cfg["model"]["channels"] == [4, 8]
    assert env["seed"] == 0 and env["device"] == "cpu" and env["versions"]["torch"]
    assert env["command"].startswith("aelab train") and env["machine"]["cpu_count"] >= 1


def test_cli_report_images_all_load(run_dir):
    html = (run_dir / "report.html").read_text()
    srcs = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(srcs) == len(list((run_dir / "figures").glob("*.png"))) >= 2
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_existing_run_folder_needs_overwrite(run_dir, capsys):
    assert main(["train", "configs/demo.toml", *TINY, "--out", str(run_dir)]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_cli_unknown_config_key_is_one_line_error(tmp_path, capsys):
    code = main(["train", "configs/demo.toml", "--set", "train.epoch=1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        err.strip()] and err.startswith("error: unknown config key 'train.epoch'")
    assert "Did you mean 'train.epochs'" in err and "Traceback" not in err


def test_cli_debug_shows_traceback(tmp_path, capsys):
    code = main(["--debug", "train", "--set", "train.epoch=1", "--out", str(tmp_path)])
    assert code == 2 and "Traceback" in capsys.readouterr().err


def test_cli_unknown_model_kwarg_is_config_error(tmp_path, capsys):
    code = main(["train", "--set", "model.latent_dimm=3", "--out", str(tmp_path)])
    assert code == 2 and "latent_dim" in capsys.readouterr().err


def test_cli_resume_continues_to_more_epochs(run_dir, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    assert main(["train", "--resume", str(copy), "--set", "train.epochs=2"]) == 0
    assert len((copy / "history.csv").read_text().splitlines()) == 3
    assert json.loads((copy / "metrics.json").read_text())["epochs"] == 2


def test_cli_evaluate_prints_metrics(run_dir, capsys):
    assert main(["evaluate", str(run_dir)]) == 0
    assert re.search(r"test_psnr_db\s+\d", capsys.readouterr().out)


def test_cli_reconstruct_writes_pngs(run_dir, tmp_path):
    src = tmp_path / "digit.png"
    Image.fromarray((np.eye(20) * 255).astype(np.uint8)).save(src)
    assert main(["reconstruct", str(run_dir), str(src), "--out", str(tmp_path / "o")]) == 0
    rec = Image.open(tmp_path / "o" / "digit-reconstruction.png")
    assert rec.size == (8, 8) and rec.mode == "L"


def test_cli_reconstruct_rejects_colour_file_for_grey_model(run_dir, tmp_path, capsys):
    src = tmp_path / "colour.png"
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(src)
    assert main(["reconstruct", str(run_dir), str(src), "--out", str(tmp_path / "o")]) == 2
    assert "colour image but the model is greyscale" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_reconstruct_rejects_empty_file(run_dir, tmp_path, capsys):
    (tmp_path / "empty.png").write_bytes(b"")
    assert main(["reconstruct", str(run_dir), str(tmp_path / "empty.png"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "empty" in capsys.readouterr().err


def test_cli_summary_prints_total(capsys):
    assert main(["summary", "configs/demo.toml"]) == 0
    assert re.search(r"[Tt]otal.*\d", capsys.readouterr().out)


def test_cli_summary_needs_no_dataset_files(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AELAB_DATA", str(tmp_path))           # no MNIST anywhere
    monkeypatch.setenv("AELAB_DOWNLOAD_URL", "http://127.0.0.1:9/")
    assert main(["summary", "configs/mnist_dense.toml"]) == 0
    out = capsys.readouterr().out
    assert "1,140,782" in out                                  # 784-512-256-128-30 and back


def test_cli_list_models_reads_registry(capsys):
    assert main(["list", "models"]) == 0
    assert {"dense", "conv", "vae_dense", "vae_conv"} <= set(capsys.readouterr().out.split())


def test_cli_list_corruptions_reads_their_registry(capsys):
    from aelab.corruptions import CORRUPTIONS

    assert main(["list", "corruptions"]) == 0
    assert capsys.readouterr().out.split() == CORRUPTIONS.names()
    assert {"gaussian", "salt_pepper", "block", "stripes"} <= set(CORRUPTIONS.names())


def test_cli_datasets_lists_all_six(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("mnist", "fashion_mnist", "kmnist", "cifar10", "digits", "image_folder"):
        assert re.search(rf"^{name}\s", out, re.M), name


def test_cli_datasets_finds_mirror_and_reports_kmnist_download(mirror, monkeypatch, capsys):
    monkeypatch.setenv("AELAB_DATA", str(mirror))
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"found\s+train-images-idx3-ubyte.gz\s+\S*mnist", out)
    kmnist = out.split("kmnist", 1)[1].split("\ncifar10")[0]
    assert re.search(r"download\s+\S*train-imgs|download\s+train-images", kmnist)
