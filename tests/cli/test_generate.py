"""`aelab generate`, in-process, on tiny runs trained on the bundled digits."""

import numpy as np
import pytest
from PIL import Image

from aelab.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_generate_writes_n_pngs_and_a_grid(vae_run, tmp_path, capsys):
    assert main(["generate", str(vae_run), "--n", "6", "--out", str(tmp_path)]) == 0
    samples = sorted(tmp_path.glob("sample_*.png"))
    assert len(samples) == 6 and (tmp_path / "grid.png").is_file()
    with Image.open(samples[0]) as im:
        assert im.size == (8, 8) and im.mode == "L"
    assert "grid:" in capsys.readouterr().out


def test_generate_same_seed_same_images_other_seed_other_images(vae_run, tmp_path):
    def pixels(seed, sub):
        main(["generate", str(vae_run), "--n", "2", "--seed", str(seed),
              "--out", str(tmp_path / sub)])
        return np.asarray(Image.open(tmp_path / sub / "sample_000.png"))
    assert np.array_equal(pixels(0, "a"), pixels(0, "b"))
    assert not np.array_equal(pixels(0, "a"), pixels(1, "c"))


def test_generate_class_on_plain_autoencoder(ae_run, tmp_path):
    assert main(["generate", str(ae_run), "--n", "3", "--class", "3",
                 "--out", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("sample_*.png"))) == 3


def test_generate_prior_on_plain_autoencoder_is_a_user_error(ae_run, tmp_path, capsys):
    assert main(["generate", str(ae_run), "--n", "3", "--sampler", "prior",
                 "--out", str(tmp_path)]) == 2
    assert "class_gaussian" in capsys.readouterr().err


def test_generate_unknown_class_is_a_user_error(ae_run, tmp_path, capsys):
    assert main(["generate", str(ae_run), "--class", "42", "--out", str(tmp_path)]) == 2
    assert "--class 42" in capsys.readouterr().err


def test_generate_missing_run_folder_is_a_user_error(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "not a finished run folder" in capsys.readouterr().err
