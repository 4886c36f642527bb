"""Readers for the array files of the MNIST family: IDX (usually gzip-compressed) and the
KMNIST ``.npz`` archives.

IDX (http://yann.lecun.com/exdb/mnist/, "file formats"): a big-endian header -- a magic
number whose low byte is the number of dimensions (0x00000803: uint8 images N x rows x cols,
0x00000801: uint8 labels N), then one uint32 per dimension -- followed by the raw bytes.
"""

from __future__ import annotations

import gzip
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import DataError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
_KIND = {
    IMAGES_MAGIC: "an IDX image file (magic 0x00000803)",
    LABELS_MAGIC: "an IDX label file (magic 0x00000801)",
}
_GZIP_MAGIC = b"\x1f\x8b"
_FIX = (
    "Fix: delete it and run again to download a fresh copy, or replace it with the official "
    "file."
)


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """Read an IDX file of unsigned bytes, gzip-compressed or not.

    Parameters
    ----------
    path : str or Path
        The file; compressed or not is told by its first bytes, not its name.
    magic : int
        The expected magic number, :data:`IMAGES_MAGIC` or :data:`LABELS_MAGIC`.

    Returns
    -------
    numpy.ndarray
        uint8, shape ``(N, rows, cols)`` for images or ``(N,)`` for labels; writable.

    Raises
    ------
    DataError
        If the file is not gzip although named ``.gz`` (an HTML error page, say), the gzip
        stream is truncated or corrupt, the magic number is not `magic`, or the data is shorter
        or longer than the header says. The message names the file and what was expected.

    Examples
    --------
    >>> x = read_idx("mnist/t10k-images-idx3-ubyte.gz", IMAGES_MAGIC)  # doctest: +SKIP
    >>> x.shape, x.dtype  # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'))
    """
    path = Path(path)
    expected = _KIND[magic]
    ndim = magic & 0xFF
    with open(path, "rb") as raw:
        start = raw.read(64)
    compressed = start.startswith(_GZIP_MAGIC)
    if not compressed and path.suffix == ".gz":
        raise DataError(
            f"{path} is not a gzip file ({_describe_start(start)}); expected {expected}, "
            f"gzip-compressed. {_FIX}"
        )
    try:
        with gzip.open(path, "rb") if compressed else open(path, "rb") as f:
            head = f.read(4)
            got_magic = struct.unpack(">I", head)[0] if len(head) == 4 else None
            if got_magic != magic:
                raise _bad(path, expected, "it is too short" if got_magic is None
                           else f"its magic number is 0x{got_magic:08x}")
            header = f.read(4 * ndim)
            if len(header) < 4 * ndim:
                raise _bad(path, expected, "it is shorter than an IDX header")
            dims = struct.unpack(f">{ndim}I", header)
            out = np.empty(dims, dtype=np.uint8)
            n_read = _read_into(f, memoryview(out.reshape(-1)))
            if n_read < out.size:
                raise _bad(path, expected, f"it holds {n_read} of the {out.size} data bytes "
                           f"its header announces (truncated)")
            if f.read(1):
                raise _bad(path, expected, "it holds more data than its header announces")
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(
            f"{path} is a truncated or corrupt gzip file ({e}); expected {expected}, "
            f"gzip-compressed. {_FIX}"
        ) from e
    return out


def read_npz_array(path: str | Path, ndim: int) -> np.ndarray:
    """Read the single uint8 array stored under ``arr_0`` in a KMNIST ``.npz`` archive.

    Parameters
    ----------
    path : str or Path
        The archive (``kmnist-test-imgs.npz``, ...).
    ndim : int
        Expected number of dimensions: 3 for images, 1 for labels.

    Returns
    -------
    numpy.ndarray
        uint8, C-contiguous.

    Raises
    ------
    DataError
        If the file is not such an archive (pickles are never loaded).
    """
    path = Path(path)
    expected = f"a NumPy .npz archive with a {ndim}-D uint8 array under 'arr_0'"
    try:
        with np.load(path, allow_pickle=False) as npz:
            array = npz["arr_0"]
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{path} is not {expected} ({type(e).__name__}: {e}). {_FIX}") from e
    if array.dtype != np.uint8 or array.ndim != ndim:
        raise DataError(
            f"{path} is not {expected}: it holds a {array.ndim}-D {array.dtype} array of "
            f"shape {array.shape}. {_FIX}"
        )
    return np.ascontiguousarray(array)


def _read_into(f: BinaryIO, view: memoryview) -> int:
    n_read = 0
    while n_read < len(view):
        n = f.readinto(view[n_read:])
        if not n:
            break
        n_read += n
    return n_read


def _bad(path: Path, expected: str, reason: str) -> DataError:
    return DataError(f"{path} is not {expected}: {reason}. {_FIX}")


def _describe_start(start: bytes) -> str:
    if start.lstrip().lower().startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
        return "it looks like an HTML page, e.g. an error page saved under this name"
    if not start:
        return "it is empty"
    return f"it starts with {start[:8]!r}"
