"""The super-resolution image sets: T91 (training), Set5 and Set14 (testing only).

Images come in many sizes, so a set is a list of `SRImage` (name, uint8 (H, W) or (H, W, 3)),
not an `ImageData`. Files are found and verified by `aelab.data`'s `Fetcher`: an explicit
`data_dir`, then ``AELAB_DATA`` (e.g. the shared mirror), then the user cache, and only then
downloaded and checked against the md5 recorded in `checksums.MD5`.

A folder of your own photos works for training too: `load_folder(path)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..apply import channels_last, read_image
from ..data.download import Fetcher, ProgressFactory, RemoteFile
from ..errors import ConfigError, DataError
from .checksums import MD5

# Pinned copies of the public redistributions the mirror was verified against.
_BENCH_URL = ("https://raw.githubusercontent.com/majedelhelou/denoising_datasets/"
              "58234876fef6f1b56306705c78dfd40cdb837b86/C{set}/{file}")
_T91_URL = ("https://raw.githubusercontent.com/LexyLu/base_aplus_wavelet/master/"
            "CVPR08-SR/Data/Training/{file}")
#: set name -> (folder in a data root, sub-folder, role)
SETS = {"T91": ("sr-train", "T91", "train"),
        "Set5": ("sr-benchmarks", "Set5", "test"),
        "Set14": ("sr-benchmarks", "Set14", "test")}
_EXTENSIONS = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


@dataclass(frozen=True)
class SRImage:
    """One high-resolution image: uint8 (H, W) grey or (H, W, 3) RGB."""

    name: str
    pixels: np.ndarray


def remote_files(set_name: str) -> list[RemoteFile]:
    """The files of a registered set, with md5 and download URL."""
    if set_name not in SETS:
        raise ConfigError(f"unknown super-resolution set {set_name!r}; choose one of "
                          f"{', '.join(SETS)}, or pass a folder of images.")
    folder, sub, _ = SETS[set_name]
    files = []
    for path, md5 in MD5.items():
        root, sub_i, file = path.split("/")
        if root != folder or sub_i != sub:
            continue
        url = (_T91_URL.format(file=file) if set_name == "T91"
               else _BENCH_URL.format(set=set_name, file=file))
        files.append(RemoteFile(name=f"{sub}/{file}", folder=folder, md5=md5, urls=(url,)))
    return sorted(files, key=lambda f: f.name)


def load_set(set_name: str, *, data_dir: str | Path | None = None, download: bool = True,
             progress: ProgressFactory | None = None) -> list[SRImage]:
    """Load T91, Set5 or Set14, sorted by file name, each file verified by md5."""
    fetcher = Fetcher(data_dir, download=download, progress=progress)
    hint = " The shared mirror holds these sets: AELAB_DATA=../shared/datasets."
    return [_read(fetcher.fetch(remote, hint=hint)) for remote in remote_files(set_name)]


def load_folder(path: str | Path) -> list[SRImage]:
    """Every image file directly in `path` (png, bmp, jpg, tif), sorted by name."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(f"{str(folder)!r} is not a folder. Pass a folder of photos, or one of "
                        f"the sets {', '.join(SETS)}.")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _EXTENSIONS)
    if not files:
        raise DataError(f"{str(folder)!r} holds no image files ({', '.join(_EXTENSIONS)}).")
    return [_read(p) for p in files]


def load_images(source: str | Path, **kwargs) -> list[SRImage]:
    """A registered set by name (T91, Set5, Set14), else a folder of images."""
    if str(source) in SETS:
        return load_set(str(source), **kwargs)
    return load_folder(source)


def _read(path: Path) -> SRImage:
    return SRImage(name=path.stem, pixels=channels_last(read_image(path)))
