"""Files aelab writes and reads: one atomic writer, one folder lock, readers whose errors
name the file.

- `atomic_write` writes under a temporary name in the same folder (``.<name>.<random>.tmp``)
  and renames it into place, so a kill mid-write leaves the old file or the new one, never a
  half-written one; `remove_stale_temps` deletes what a kill left of such temporaries.
- `folder_lock` holds an OS lock (``fcntl.flock``) on ``.<folder>.lock`` next to a run
  folder for a whole training; a second writer fails at once, naming the holder's pid. The
  lock file sits beside the folder (not in it) so that ``--overwrite`` can move the folder.
- `read_text` / `read_json` turn a missing, non-UTF-8 or malformed file into one `DataError`
  line that names the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import DataError

TEMP_SUFFIX = ".tmp"


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file to `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    text = json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries `atomic_write` left in `folder` when a process was killed.

    Call it only while holding the folder's lock, so no live writer's file goes."""
    stale = [p for p in Path(folder).glob(f".*{TEMP_SUFFIX}") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def read_text(path: str | os.PathLike, what: str = "file") -> str:
    """The UTF-8 text of `path`; a `DataError` naming the file if it is missing or not UTF-8."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise DataError(f"{what} {str(path)!r} does not exist.") from e
    except UnicodeDecodeError as e:
        raise DataError(f"{what} {str(path)!r} is not UTF-8 text (byte {e.start}: "
                        f"{e.reason}). Save it as UTF-8.") from e
    except OSError as e:
        raise DataError(f"cannot read {what} {str(path)!r}: {e.strerror or e}.") from e


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """The parsed JSON of `path`; a `DataError` naming the file and the line if malformed."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{what} {str(path)!r} is not valid JSON (line {e.lineno}, column "
                        f"{e.colno}: {e.msg}). Restore it from a backup or rerun the command "
                        "that wrote it.") from e


def lock_path(folder: str | os.PathLike) -> Path:
    folder = Path(folder).absolute()
    return folder.parent / f".{folder.name}.lock"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on `folder` (which need not exist yet) for the ``with`` block.

    Raises
    ------
    DataError
        At once, if another process holds it: the message names the folder and its pid.
    """
    path = lock_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise DataError(f"run folder {str(folder)!r} is in use by another aelab process "
                            f"(pid {holder}); wait for it to finish, or choose another "
                            "folder.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def load_image(path: str | os.PathLike):
    """Open and fully decode an image file with Pillow; returns the loaded ``PIL.Image``.

    Pillow's decompression-bomb check (``PIL.Image.MAX_IMAGE_PIXELS``) applies, its warning
    included: an image with more pixels is refused rather than decoded.

    Raises
    ------
    DataError
        One line naming the file: missing, empty, not an image, truncated, or too large.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"image file {str(path)!r} does not exist.")
    if path.stat().st_size == 0:
        raise DataError(f"image file {str(path)!r} is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
                return im.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DataError(f"image file {str(path)!r} is too large to decode safely ({e}). If it "
                        "is genuine, downscale it first.") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise DataError(f"cannot read {str(path)!r} as an image ({e}). Use a PNG, JPEG or BMP "
                        "file.") from e
