"""CIFAR-10 from the official "python version": 50,000 train and 10,000 test 32x32 RGB images.

Read from the extracted batches (``cifar-10-batches-py/data_batch_1`` ... ``test_batch``) when
all those needed are found, else from the tarball ``cifar-10-python.tar.gz`` (found or
downloaded), whose members are read in memory. The batches are Python 2 pickles: they are
unpickled only after their md5 (or the tarball's) matched the official one, so only the
publisher's bytes are ever unpickled.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from .base import DatasetRecipe, ImageData, assemble, register
from .download import Fetcher, RemoteFile

_FOLDER = "cifar10"
_BATCH_DIR = "cifar-10-batches-py"
_BATCH_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
_SPLIT_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}

_IMAGE_FOLDER_HINT = (
    " If you have CIFAR-10 as image files instead (e.g. the mirror's cifar10/images/ with "
    "train/<class>/*.jpg and test/<class>/*.jpg), load them with "
    "load_dataset('image_folder', path=..., size=32); JPEG copies are lossy, so do not report "
    "benchmark numbers on them."
)


class Cifar10Recipe(DatasetRecipe):
    """CIFAR-10, python version (Krizhevsky 2009)."""

    name = "cifar10"
    summary = "CIFAR-10 objects, 50k/10k 32x32 RGB (Krizhevsky 2009; official python batches)."
    image_shape = (3, 32, 32)
    class_names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")

    def __init__(self) -> None:
        self.tarball = RemoteFile(
            "cifar-10-python.tar.gz", _FOLDER, "c58f30108f718f92721af3b95e74349a",
            ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
        )
        self.batches = {
            batch: RemoteFile(f"{_BATCH_DIR}/{batch}", _FOLDER, md5)  # found locally only
            for batch, md5 in _BATCH_MD5.items()
        }

    def load(self, fetcher: Fetcher, splits: tuple[str, ...]) -> ImageData:
        needed = [batch for split in splits for batch in _SPLIT_BATCHES[split]]
        if all(fetcher.locate(self.batches[b]) for b in needed):
            raw = {b: fetcher.fetch(self.batches[b]).read_bytes() for b in needed}
            source = "the extracted batches"
        else:
            tarball = fetcher.fetch(self.tarball, hint=_IMAGE_FOLDER_HINT)
            raw = _read_members(tarball, needed)
            source = str(tarball)
        batches = {b: _unpickle_batch(data, b, source) for b, data in raw.items()}
        parts = {}
        for split in splits:
            chunks = [batches[b] for b in _SPLIT_BATCHES[split]]
            parts[split] = (np.concatenate([x for x, _ in chunks]),
                            np.concatenate([y for _, y in chunks]))
        return assemble(self.name, self.class_names, self.image_shape, parts)

    def describe_files(self, fetcher: Fetcher) -> list[dict[str, str]]:
        found = [fetcher.describe(remote) for remote in self.batches.values()]
        if all(entry["status"] == "found" for entry in found):
            return found
        return [fetcher.describe(self.tarball)]


def _read_members(tarball: Path, batches: list[str]) -> dict[str, bytes]:
    """Read the wanted batches out of the (verified) tarball, in one pass, in memory."""
    wanted = {f"{_BATCH_DIR}/{b}": b for b in batches}
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:  # sequential: no seeking back in the gzip stream
                if member.name in wanted and member.isfile():
                    f = tar.extractfile(member)
                    if f is not None:
                        out[wanted[member.name]] = f.read()
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(
            f"{tarball} is not a readable gzip-compressed tar archive ({e}). Delete it and run "
            f"again to download a fresh copy."
        ) from e
    missing = sorted(set(batches) - set(out))
    if missing:
        raise DataError(
            f"{tarball} lacks {', '.join(f'{_BATCH_DIR}/{b}' for b in missing)}; it is not the "
            f"official cifar-10-python.tar.gz. Delete it and run again to download it."
        )
    return out


def _unpickle_batch(data: bytes, batch: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """A CIFAR batch pickle -> (N, 3, 32, 32) uint8 images and (N,) int64 labels."""
    try:
        # The one pickle aelab reads: its bytes matched the publisher's md5 before this call.
        d = pickle.load(io.BytesIO(data), encoding="latin1")  # written by Python 2
        x = np.asarray(d["data"], dtype=np.uint8)
        y = np.asarray(d["labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as e:
        raise DataError(f"{batch} from {source} is not a CIFAR-10 batch ({e}).") from e
    if x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or len(x) != len(y):
        raise DataError(
            f"{batch} from {source} holds data of shape {x.shape} and {len(y)} labels; "
            f"expected (N, 3072) and N labels."
        )
    return x.reshape(-1, 3, 32, 32), y  # rows are R, G, B planes of 32x32, row-major


CIFAR10 = register(Cifar10Recipe())
