"""``image_folder``: your own PNG/JPEG/BMP files as a dataset.

Accepted layouts, checked in this order:

- ``path/train/<class>/*`` and ``path/test/<class>/*``: the given split is kept;
- ``path/<class>/*``: class sub-folders, split by a seeded stratified ``test_fraction``;
- ``path/*``: one class named after the folder, split the same way.

Only files directly inside those folders count (sorted by name; hidden files and other
extensions are skipped). Images are converted to ``mode`` ("L" or "RGB"); an image whose size
differs from ``size`` is center-cropped to the target aspect ratio, then resized with bicubic
filtering (``PIL.ImageOps.fit``), so nothing is stretched.

The folder is decoded once into uint8 ``.npy`` files in the cache (``<cache>/image_folder/
<key>/``), keyed by a hash of the folder, its file names, sizes and mtimes, and the options.
Later loads memory-map them (copy-on-write: writing to the arrays never touches the cache).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from ..errors import ConfigError, DataError
from ..files import load_image
from .base import SPLITS, DatasetRecipe, ImageData, assemble, register
from .download import Fetcher, ProgressFactory, cache_dir
from .splits import train_val_split

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".bmp", ".jpeg", ".jpg", ".png")
MODES = ("L", "RGB")
MAX_CACHE_GB = 8.0  # default ceiling on a decoded cache (data.options.max_cache_gb)
_CACHE_VERSION = 1  # bump when the decoding changes, so old caches are not reused


class ImageFolderRecipe(DatasetRecipe):
    """Images from a folder (see the module docstring for layouts and resizing)."""

    name = "image_folder"
    summary = ("Your own PNG/JPEG/BMP images: path/{train,test}/<class>/, path/<class>/ or a "
               "flat folder; resized, decoded once and memory-mapped from the cache.")

    def load(self, fetcher: Fetcher, splits: tuple[str, ...], *, path: str | Path | None = None,
             size: int | tuple[int, int] = 64, mode: str = "RGB", test_fraction: float = 0.2,
             seed: int = 0, max_cache_gb: float = MAX_CACHE_GB) -> ImageData:
        root = _check_path(path)
        height, width = _check_size(size)
        if mode not in MODES:
            raise ConfigError(f"data.options.mode: got {mode!r}; expected one of {MODES} "
                              f"(grey or colour).")
        files, class_names = _scan(root, test_fraction, seed)
        image_shape = (1 if mode == "L" else 3, height, width)
        _check_cache_size(root, files, image_shape, max_cache_gb)
        key = _cache_key(root, files, image_shape, mode, test_fraction, seed)
        cached = cache_dir() / "image_folder" / key
        if (cached / "meta.json").is_file():
            logger.debug("Reusing decoded images of %s from %s", root, cached)
        else:
            _build_cache(cached, files, class_names, image_shape, mode, fetcher.progress, root)
        parts = {}
        for split in splits:
            x = np.load(cached / f"x_{split}.npy", mmap_mode="c")
            parts[split] = (x, np.load(cached / f"y_{split}.npy"))
        return assemble(self.name, class_names, image_shape, parts)


# Per split: (file, label) pairs.
_Files = dict[str, list[tuple[Path, int]]]


def _scan(root: Path, test_fraction: float, seed: int) -> tuple[_Files, tuple[str, ...]]:
    """Find the images of each split and the class names, per the accepted layouts."""
    subdirs = _subdirs(root)
    loose = _images_in(root)
    names = {p.name for p in subdirs}
    if {"train", "test"} <= names:
        per_split = {s: _class_files(root / s) for s in SPLITS}
        class_names = tuple(sorted({c for classes in per_split.values() for c in classes}))
        files = {s: _labelled(per_split[s], class_names) for s in SPLITS}
        return files, class_names
    if names & {"train", "test"}:
        raise DataError(
            f"{root} has a {'train' if 'train' in names else 'test'}/ folder but no "
            f"{'test' if 'train' in names else 'train'}/ one. Add it to keep a given split, or "
            f"rename the folder if it is a class."
        )
    if subdirs and loose:
        raise DataError(
            f"{root} holds both image files ({loose[0].name}, ...) and sub-folders "
            f"({subdirs[0].name}/, ...). Move the loose images into a class folder, or point "
            f"path at one of the sub-folders."
        )
    if subdirs:
        classes = _class_files(root)
        class_names = tuple(classes)
        pairs = _labelled(classes, class_names)
    elif loose:
        class_names = (root.name,)
        pairs = [(f, 0) for f in loose]
    else:
        raise DataError(
            f"{root} holds no images: expected files ending in {', '.join(IMAGE_EXTENSIONS)} "
            f"(any case) in path/, path/<class>/ or path/train|test/<class>/."
        )
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    train, test = train_val_split(labels, test_fraction, seed, key="data.options.test_fraction")
    return {"train": [pairs[i] for i in train], "test": [pairs[i] for i in test]}, class_names


def _class_files(folder: Path) -> dict[str, list[Path]]:
    """Class name -> its images, for the class sub-folders of `folder` (sorted)."""
    classes = {d.name: _images_in(d) for d in _subdirs(folder)}
    if not classes:
        raise DataError(f"{folder} holds no class sub-folders; expected {folder}/<class>/ "
                        f"folders of images.")
    for name, files in classes.items():
        if not files:
            raise DataError(
                f"Class folder {folder / name} holds no images (files ending in "
                f"{', '.join(IMAGE_EXTENSIONS)}). Add images or remove the folder."
            )
    return classes


def _labelled(classes: dict[str, list[Path]], class_names: tuple[str, ...]
              ) -> list[tuple[Path, int]]:
    return [(f, class_names.index(name)) for name, files in classes.items() for f in files]


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images_in(folder: Path) -> list[Path]:
    with os.scandir(folder) as entries:  # DirEntry.is_file() needs no extra stat call
        return sorted(
            Path(e.path) for e in entries
            if e.name.lower().endswith(IMAGE_EXTENSIONS) and not e.name.startswith(".")
            and e.is_file()
        )


def _cache_key(root: Path, files: _Files, image_shape: tuple[int, int, int], mode: str,
               test_fraction: float, seed: int) -> str:
    listing = []
    for split in SPLITS:
        for f, label in files[split]:
            stat = f.stat()
            listing.append([split, str(f.relative_to(root)), label, stat.st_size, stat.st_mtime_ns])
    blob = json.dumps({
        "version": _CACHE_VERSION, "root": str(root), "files": listing,
        "shape": image_shape, "mode": mode, "test_fraction": test_fraction, "seed": seed,
    })
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _build_cache(cached: Path, files: _Files, class_names: tuple[str, ...],
                 image_shape: tuple[int, int, int], mode: str,
                 progress: ProgressFactory | None, root: Path) -> None:
    """Decode every image into ``cached/x_<split>.npy``; written under a temporary name and
    renamed when complete, so an interrupted run leaves no half cache."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cached.parent, prefix=f".{cached.name}."))
    n_total = sum(len(pairs) for pairs in files.values())
    logger.info("Decoding %d images of %s into %s", n_total, root, cached)
    bar = progress(total=n_total, desc=f"decoding {root.name}", unit="img") if progress else None
    try:
        with bar if bar is not None else nullcontext():
            for split in SPLITS:
                pairs = files[split]
                x = np.lib.format.open_memmap(tmp / f"x_{split}.npy", mode="w+",
                                              dtype=np.uint8, shape=(len(pairs), *image_shape))
                for i, (f, _) in enumerate(pairs):
                    x[i] = _decode_image(f, image_shape[1:], mode)
                    if bar is not None:
                        bar.update(1)
                x.flush()
                del x  # close the map before the folder is renamed
                labels = np.array([label for _, label in pairs], dtype=np.int64)
                np.save(tmp / f"y_{split}.npy", labels)
        meta = {"source": str(root), "class_names": class_names, "image_shape": image_shape,
                "mode": mode, "n_train": len(files["train"]), "n_test": len(files["test"])}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        try:
            os.replace(tmp, cached)
        except OSError:  # another process finished the same cache first
            if not (cached / "meta.json").is_file():
                raise
            shutil.rmtree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _decode_image(file: Path, size: tuple[int, int], mode: str) -> np.ndarray:
    """One image file -> uint8 (C, H, W) in `mode`, center-cropped and resized to `size`."""
    height, width = size
    try:
        img = load_image(file).convert(mode)  # decodes the whole file: truncation shows here
    except DataError as e:
        raise DataError(f"not a readable image: {e} Replace or delete it, or move it out of "
                        "the folder.") from e
    if img.size != (width, height):
        img = ImageOps.fit(img, (width, height), method=Image.Resampling.BICUBIC)
    pixels = np.asarray(img, dtype=np.uint8)
    return pixels[None] if mode == "L" else pixels.transpose(2, 0, 1)


def _check_cache_size(root: Path, files: _Files, image_shape: tuple[int, int, int],
                      max_cache_gb: Any) -> None:
    """Refuse before decoding when the uint8 cache (count x C x H x W bytes) would exceed
    `max_cache_gb`: a typo in ``size`` should not fill the disk."""
    if isinstance(max_cache_gb, bool) or not isinstance(max_cache_gb, int | float) \
            or not max_cache_gb > 0:
        raise ConfigError(f"data.options.max_cache_gb: got {max_cache_gb!r}; expected a "
                          "number of gigabytes > 0.")
    n = sum(len(pairs) for pairs in files.values())
    gb = n * math.prod(image_shape) / 1e9
    if gb > max_cache_gb:
        shape = "x".join(map(str, image_shape))
        raise ConfigError(
            f"image_folder {str(root)!r}: decoding {n} images at {shape} needs a {gb:.1f} GB "
            f"cache, over data.options.max_cache_gb = {max_cache_gb:g}. Lower "
            f"data.options.size, or raise data.options.max_cache_gb if the disk has room.")


def _check_path(path: Any) -> Path:
    if path is None:
        raise ConfigError(
            "data.options.path: image_folder needs the folder of images, e.g. "
            "load_dataset('image_folder', path='photos/'), or path = \"photos/\" under "
            "[data.options] in the config."
        )
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"data.options.path: {str(root)!r} is not a folder. Point it at a "
                        f"folder of images (path/<class>/*.png, or path/train|test/<class>/).")
    return root.resolve()


def _check_size(size: Any) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, int) else size
    if (
        isinstance(pair, tuple | list) and len(pair) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair)
    ):
        return int(pair[0]), int(pair[1])
    raise ConfigError(f"data.options.size: got {size!r}; expected a positive int or "
                      f"(height, width), e.g. 32 or (32, 48).")


IMAGE_FOLDER = register(ImageFolderRecipe())
