"""kmnist's two file forms (npz and IDX), on tiny files in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aelab.data import load_dataset, mnist
from aelab.errors import ConfigError, DataError


@pytest.fixture
def kmnist_dir(tmp_path: Path, monkeypatch, idx_gz, unreachable) -> Path:
    """kmnist/ with the test split as npz (images 7) and as IDX (images 3), md5 checks off,
    so which form was read shows in the pixels."""
    folder = tmp_path / "root" / "kmnist"
    folder.mkdir(parents=True)
    labels = np.array([0, 9], np.uint8)
    np.savez(folder / "kmnist-test-imgs.npz", np.full((2, 28, 28), 7, np.uint8))
    np.savez(folder / "kmnist-test-labels.npz", labels)
    idx_gz(folder / "t10k-images-idx3-ubyte.gz", np.full((2, 28, 28), 3, np.uint8))
    idx_gz(folder / "t10k-labels-idx1-ubyte.gz", labels)
    no_md5 = dict.fromkeys(mnist._IDX_NAMES, None)
    monkeypatch.setattr(mnist.KMNIST, "files", mnist.idx_files("kmnist", unreachable, no_md5))
    monkeypatch.setattr(mnist.KMNIST, "npz_files", {
        key: mnist.RemoteFile(f.name, "kmnist", None, unreachable)
        for key, f in mnist.KMNIST.npz_files.items()
    })
    return folder.parent


@pytest.mark.parametrize(("form", "pixel"), [("auto", 7), ("npz", 7), ("idx", 3)])
def test_kmnist_form_picks_the_file_form(kmnist_dir: Path, form, pixel):
    data = load_dataset("kmnist", data_dir=kmnist_dir, download=False, splits=("test",),
                        form=form)

    assert (data.x_test == pixel).all()
    assert data.y_test.tolist() == [0, 9]
    assert data.class_names[9] == "wo"


def test_kmnist_auto_falls_back_to_idx_per_file(kmnist_dir: Path):
    (kmnist_dir / "kmnist" / "kmnist-test-imgs.npz").unlink()

    data = load_dataset("kmnist", data_dir=kmnist_dir, download=False, splits=("test",))

    assert (data.x_test == 3).all()


def test_kmnist_missing_train_images_suggest_test_split(kmnist_dir: Path):
    with pytest.raises(DataError, match=r"splits=\('test',\)"):
        load_dataset("kmnist", data_dir=kmnist_dir, download=False)


def test_kmnist_bad_form_names_choices():
    with pytest.raises(ConfigError, match=r"data\.options\.form.*'npz'"):
        load_dataset("kmnist", form="png")
