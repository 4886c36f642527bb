"""image_folder on small folders of PNG files generated with Pillow in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aelab.data import folder, load_dataset
from aelab.errors import ConfigError, DataError


def _png(path: Path, color, size=(12, 10), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)
    return path


@pytest.fixture
def classes(tmp_path: Path) -> Path:
    """path/<class>/*.png: 5 red 'cat' and 5 blue 'dog' images (one with an upper-case .PNG)."""
    root = tmp_path / "pets"
    for i in range(5):
        _png(root / "cat" / f"{i}.png", (255, 0, 0))
        _png(root / "dog" / f"{i}.{'PNG' if i == 0 else 'png'}", (0, 0, 255))
    (root / "dog" / "notes.txt").write_text("not an image")
    return root


def test_image_folder_class_subfolders_give_labels_and_shapes(classes: Path):
    data = load_dataset("image_folder", path=classes, size=8, test_fraction=0.2)

    assert data.class_names == ("cat", "dog")
    assert data.x_train.shape == (8, 3, 8, 8) and data.x_test.shape == (2, 3, 8, 8)
    assert data.x_train.dtype == np.uint8
    assert np.bincount(data.y_test).tolist() == [1, 1]
    red = data.x_train[data.y_train == 0]
    assert (red[:, 0] == 255).all() and (red[:, 2] == 0).all()


def test_image_folder_mode_l_gives_one_channel(classes: Path):
    data = load_dataset("image_folder", path=classes, size=(6, 4), mode="L")

    assert data.image_shape == (1, 6, 4)
    # Pillow's L = R*299/1000 + G*587/1000 + B*114/1000: red -> 76
    assert (data.x_train[data.y_train == 0] == 76).all()


def test_image_folder_train_test_layout_is_kept(tmp_path: Path):
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            _png(tmp_path / "set" / split / "a" / f"{i}.png", (1, 2, 3))
            _png(tmp_path / "set" / split / "b" / f"{i}.bmp", (4, 5, 6))

    data = load_dataset("image_folder", path=tmp_path / "set", size=4)

    assert (len(data.x_train), len(data.x_test)) == (6, 4)
    assert data.y_test.tolist() == [0, 0, 1, 1]


def test_image_folder_flat_folder_is_one_class_named_after_it(tmp_path: Path):
    for i in range(4):
        _png(tmp_path / "faces" / f"{i}.jpg", (9, 9, 9))

    data = load_dataset("image_folder", path=tmp_path / "faces", size=4, test_fraction=0.25)

    assert data.class_names == ("faces",)
    assert (len(data.y_train), len(data.y_test)) == (3, 1)


def test_image_folder_center_crops_non_square_images(tmp_path: Path):
    img = Image.new("RGB", (30, 10), (0, 0, 255))  # blue | red | green thirds
    img.paste((255, 0, 0), (10, 0, 20, 10))
    img.paste((0, 255, 0), (20, 0, 30, 10))
    for i in range(2):
        img.save(_png(tmp_path / "wide" / f"{i}.png", 0))

    data = load_dataset("image_folder", path=tmp_path / "wide", size=5, test_fraction=0.5)

    np.testing.assert_array_equal(data.x_train[0, :, 2, 2], [255, 0, 0])  # the middle third
    assert data.x_train[0, 1].max() < 30  # no green from the right third


def test_image_folder_second_load_reuses_cache(classes: Path, monkeypatch: pytest.MonkeyPatch):
    calls = []
    decode = folder._decode_image
    monkeypatch.setattr(folder, "_decode_image", lambda *a: calls.append(a) or decode(*a))

    first = load_dataset("image_folder", path=classes, size=8)
    n_first = len(calls)
    second = load_dataset("image_folder", path=classes, size=8)

    assert n_first == 10
    assert len(calls) == n_first
    assert isinstance(second.x_train, np.memmap)
    np.testing.assert_array_equal(first.x_train, second.x_train)


def test_image_folder_changed_file_invalidates_cache(classes: Path):
    before = load_dataset("image_folder", path=classes, size=8, test_fraction=0.5, seed=1)
    _png(classes / "cat" / "0.png", (0, 255, 0), size=(12, 11))  # new size: new key

    after = load_dataset("image_folder", path=classes, size=8, test_fraction=0.5, seed=1)

    x_before = np.concatenate([before.x_train, before.x_test])
    x_after = np.concatenate([after.x_train, after.x_test])
    assert (x_after[:, 1] == 255).all(axis=(1, 2)).sum() == 1  # the new green image
    assert (x_before[:, 1] == 255).all(axis=(1, 2)).sum() == 0


def test_image_folder_reports_progress_per_image(classes: Path):
    bars = []

    class Bar:
        def __init__(self, **kwargs):
            self.kwargs, self.n = kwargs, 0
            bars.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def update(self, n):
            self.n += n

    load_dataset("image_folder", path=classes, size=4, progress=Bar)

    assert [(b.kwargs["total"], b.kwargs["unit"], b.n) for b in bars] == [(10, "img", 10)]


def test_image_folder_unreadable_image_names_file(classes: Path, isolated_env: Path):
    broken = classes / "dog" / "5.png"
    broken.write_bytes(b"")

    with pytest.raises(DataError, match="not a readable image") as info:
        load_dataset("image_folder", path=classes, size=4)

    assert str(broken) in str(info.value)
    assert not list((isolated_env / "image_folder").iterdir())  # no half-written cache


def test_image_folder_empty_folder_names_extensions(tmp_path: Path):
    (tmp_path / "empty").mkdir()

    with pytest.raises(DataError, match=r"holds no images.*\.png") as info:
        load_dataset("image_folder", path=tmp_path / "empty")

    assert str(tmp_path / "empty") in str(info.value)


def test_image_folder_without_path_raises_config_error():
    with pytest.raises(ConfigError, match=r"data\.options\.path"):
        load_dataset("image_folder")


@pytest.mark.parametrize(("option", "value"), [("mode", "CMYK"), ("size", 0), ("size", (4,))])
def test_image_folder_bad_option_names_key(classes: Path, option, value):
    with pytest.raises(ConfigError, match=rf"data\.options\.{option}"):
        load_dataset("image_folder", path=classes, **{option: value})


def test_image_folder_train_without_test_folder_raises(tmp_path: Path):
    _png(tmp_path / "set" / "train" / "a" / "0.png", (1, 2, 3))
    _png(tmp_path / "set" / "b" / "0.png", (1, 2, 3))

    with pytest.raises(DataError, match="has a train/ folder but no test/ one"):
        load_dataset("image_folder", path=tmp_path / "set")


def test_image_folder_loose_images_beside_class_folders_raise(tmp_path: Path):
    _png(tmp_path / "set" / "a" / "0.png", (1, 2, 3))
    _png(tmp_path / "set" / "stray.png", (1, 2, 3))

    with pytest.raises(DataError, match=r"both image files \(stray\.png"):
        load_dataset("image_folder", path=tmp_path / "set")
