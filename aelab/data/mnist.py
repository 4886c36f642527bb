"""The MNIST family: MNIST, Fashion-MNIST and Kuzushiji-MNIST (KMNIST).

All three ship as four gzip-compressed IDX files with the same names (60,000 train and 10,000
test images of 28x28, uint8). KMNIST is also published as ``.npz`` archives; either form is
read. The md5s are the publishers' (and match the files of the shared mirror).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError
from .base import SPLITS, DatasetRecipe, ImageData, assemble, register
from .download import Fetcher, RemoteFile
from .idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, read_npz_array

_IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def idx_files(
    folder: str, base_urls: tuple[str, ...], md5s: dict[str, str]
) -> dict[str, RemoteFile]:
    """The four IDX files of an MNIST-like dataset, keyed ``"<split>_<images|labels>"``."""
    return {
        key: RemoteFile(name, folder, md5s[key], tuple(base + name for base in base_urls))
        for key, name in _IDX_NAMES.items()
    }


class IdxRecipe(DatasetRecipe):
    """An MNIST-like dataset of four IDX files.

    Parameters
    ----------
    name, summary : str
        Registry name and one-line description.
    files : dict of str to RemoteFile
        Keyed ``train_images``, ``train_labels``, ``test_images``, ``test_labels``.
    class_names : tuple of str
        Name of each label.
    """

    image_shape = (1, 28, 28)

    def __init__(self, name: str, summary: str, files: dict[str, RemoteFile],
                 class_names: tuple[str, ...]):
        self.name = name
        self.summary = summary
        self.files = files
        self.class_names = class_names

    def load(self, fetcher: Fetcher, splits: tuple[str, ...]) -> ImageData:
        parts = {}
        for split in splits:
            images = self.files[f"{split}_images"]
            labels = self.files[f"{split}_labels"]
            x = read_idx(fetcher.fetch(images, hint=_hint(split)), IMAGES_MAGIC)
            y = read_idx(fetcher.fetch(labels, hint=_hint(split)), LABELS_MAGIC)
            parts[split] = _check_pair(x, y, images.name, labels.name)
        return assemble(self.name, self.class_names, self.image_shape, parts)

    def describe_files(self, fetcher: Fetcher) -> list[dict[str, str]]:
        return [fetcher.describe(remote) for remote in self.files.values()]


class KmnistRecipe(IdxRecipe):
    """KMNIST, read from its ``.npz`` or its IDX files.

    Option ``form``: ``"auto"`` (default) reads, file by file, the ``.npz`` copy if one is found
    locally, else the IDX copy, downloading the IDX file when neither is found; ``"npz"`` and
    ``"idx"`` use that form only (downloading it when missing).
    """

    forms = ("auto", "npz", "idx")

    def __init__(self, name: str, summary: str, files: dict[str, RemoteFile],
                 npz_files: dict[str, RemoteFile], class_names: tuple[str, ...]):
        super().__init__(name, summary, files, class_names)
        self.npz_files = npz_files

    def load(self, fetcher: Fetcher, splits: tuple[str, ...], *, form: str = "auto") -> ImageData:
        if form not in self.forms:
            raise ConfigError(f"data.options.form: got {form!r}; expected one of {self.forms}.")
        parts = {}
        for split in splits:
            images = self._pick(fetcher, f"{split}_images", form)
            labels = self._pick(fetcher, f"{split}_labels", form)
            x = self._read(fetcher, images, ndim=3, hint=_hint(split))
            y = self._read(fetcher, labels, ndim=1, hint=_hint(split))
            parts[split] = _check_pair(x, y, images.name, labels.name)
        return assemble(self.name, self.class_names, self.image_shape, parts)

    def describe_files(self, fetcher: Fetcher) -> list[dict[str, str]]:
        keys = [f"{split}_{kind}" for split in SPLITS for kind in ("images", "labels")]
        return [fetcher.describe(self._pick(fetcher, key, "auto")) for key in keys]

    def _pick(self, fetcher: Fetcher, key: str, form: str) -> RemoteFile:
        if form == "npz" or (form == "auto" and fetcher.locate(self.npz_files[key])):
            return self.npz_files[key]
        return self.files[key]

    @staticmethod
    def _read(fetcher: Fetcher, remote: RemoteFile, ndim: int, hint: str) -> np.ndarray:
        path = fetcher.fetch(remote, hint=hint)
        if remote.name.endswith(".npz"):
            return read_npz_array(path, ndim)
        return read_idx(path, IMAGES_MAGIC if ndim == 3 else LABELS_MAGIC)


def _hint(split: str) -> str:
    return " To load only the test split, pass splits=('test',)." if split == "train" else ""


def _check_pair(x: np.ndarray, y: np.ndarray, x_name: str, y_name: str
                ) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) images and (N,) labels -> (N, 1, 28, 28) uint8 and (N,) int64."""
    if x.shape[1:] != (28, 28):
        raise DataError(f"{x_name} holds images of {x.shape[1:]} pixels; expected (28, 28). "
                        f"Is it a file of another dataset?")
    if len(x) != len(y):
        raise DataError(f"{x_name} holds {len(x)} images but {y_name} holds {len(y)} labels; "
                        f"the two files do not belong together. Delete them and download again.")
    return x[:, None], y.astype(np.int64)


MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # yann.lecun.com is often down
    "http://yann.lecun.com/exdb/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
KMNIST_URLS = ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",)

MNIST = register(IdxRecipe(
    name="mnist",
    summary="MNIST handwritten digits, 60k/10k 28x28 grey (LeCun et al.; CC BY-SA 3.0).",
    files=idx_files("mnist", MNIST_URLS, {
        "train_images": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train_labels": "d53e105ee54ea40749a09fcbcd1e9432",
        "test_images": "9fb629c4189551a2d022fa330f9573f3",
        "test_labels": "ec29112dd5afa0611ce80d1b7f02629c",
    }),
    class_names=tuple(str(d) for d in range(10)),
))

FASHION_MNIST = register(IdxRecipe(
    name="fashion_mnist",
    summary="Fashion-MNIST clothing, 60k/10k 28x28 grey (Zalando; MIT).",
    files=idx_files("fashion-mnist", FASHION_URLS, {
        "train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
        "test_images": "bef4ecab320f06d8554ea6380940ec79",
        "test_labels": "bb300cfdad3c16e7a12a480ee83cd310",
    }),
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"),
))

_KMNIST_NPZ = {
    "train_images": ("kmnist-train-imgs.npz", "a183fbc01ed9a345513b145673d3d0bb"),
    "train_labels": ("kmnist-train-labels.npz", "b0e1d240e8afec72b50437fc3bc5908a"),
    "test_images": ("kmnist-test-imgs.npz", "dace6de62ca8b90843cc45366337d02e"),
    "test_labels": ("kmnist-test-labels.npz", "3ae489a79983d0fe386152684e3b5412"),
}

KMNIST = register(KmnistRecipe(
    name="kmnist",
    summary="Kuzushiji-MNIST cursive Japanese hiragana, 60k/10k 28x28 grey (CODH; CC BY-SA 4.0).",
    files=idx_files("kmnist", KMNIST_URLS, {
        "train_images": "bdb82020997e1d708af4cf47b453dcf7",  # as recorded by torchvision
        "train_labels": "e144d726b3acfaa3e44228e80efcd344",
        "test_images": "5c965bf0a639b31b8f53240b1b52f4d7",
        "test_labels": "7320c461ea6c1c855c0b718fb2a4b134",
    }),
    npz_files={
        key: RemoteFile(name, "kmnist", md5, tuple(base + name for base in KMNIST_URLS))
        for key, (name, md5) in _KMNIST_NPZ.items()
    },
    # Romanized readings of kmnist_classmap.csv: お き す つ な は ま や れ を
    class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
))
