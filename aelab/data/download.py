"""Find, verify and download the files of a dataset recipe.

A file is looked up, in this order, in an explicit ``data_dir``, in the folders listed in the
``AELAB_DATA`` environment variable, and in the user cache (``AELAB_CACHE``, else
``$XDG_CACHE_HOME/aelab``, else ``~/.cache/aelab``). Each of these *data roots* is searched as
``<root>/<dataset folder>/<file>`` (the layout of the shared mirror and of the cache) and as
``<root>/<file>``. Only when the file is nowhere is it downloaded into the cache: streamed to a
temporary name in the same folder and renamed after its md5 matches, so the cache never holds
a partial or corrupt file.

``AELAB_DOWNLOAD_URL`` replaces the official URLs with ``<base>/<dataset folder>/<file>``: for a
local mirror, a proxy, or the loopback server of the tests.

A download gives up when one read waits more than 60 s, and when the whole file takes more
than ``AELAB_DOWNLOAD_DEADLINE`` seconds (default 3600), so a server that trickles a byte now
and then cannot hold it forever.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError

logger = logging.getLogger(__name__)

ENV_DATA = "AELAB_DATA"
ENV_CACHE = "AELAB_CACHE"
ENV_DOWNLOAD_URL = "AELAB_DOWNLOAD_URL"
ENV_DEADLINE = "AELAB_DOWNLOAD_DEADLINE"

_CHUNK = 1 << 20
_TIMEOUT_S = 60
_DEADLINE_S = 3600.0


def download_deadline() -> float:
    """Seconds a whole download may take: ``AELAB_DOWNLOAD_DEADLINE``, else one hour."""
    text = os.environ.get(ENV_DEADLINE)
    if text is None:
        return _DEADLINE_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise DataError(f"{ENV_DEADLINE}={text!r} must be a number of seconds > 0.")
    return value

#: A tqdm-like factory: ``progress(total=..., desc=..., unit=...)`` returns a context manager
#: with ``.update(n)``.
ProgressFactory = Callable[..., Any]


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset recipe.

    Parameters
    ----------
    name : str
        File name, possibly under a sub-folder (``"cifar-10-batches-py/test_batch"``).
    folder : str
        The dataset's folder inside a data root (``"mnist"``, ``"fashion-mnist"``).
    md5 : str or None
        Expected md5 of the file; None skips the check.
    urls : tuple of str
        Official download URLs, tried in order. Empty when the file is only ever found locally.
    """

    name: str
    folder: str
    md5: str | None
    urls: tuple[str, ...] = ()

    def candidates(self, root: Path) -> list[Path]:
        """Where this file may lie inside the data root `root`, in search order."""
        paths = [root / self.folder / self.name, root / self.name]
        basename = Path(self.name).name
        if basename != self.name:  # e.g. a root that *is* cifar-10-batches-py/
            paths.append(root / basename)
        return paths

    def download_urls(self) -> tuple[str, ...]:
        """The URLs to try, honouring ``AELAB_DOWNLOAD_URL``."""
        base = os.environ.get(ENV_DOWNLOAD_URL)
        if base:
            return (f"{base.rstrip('/')}/{self.folder}/{self.name}",)
        return self.urls


def cache_dir() -> Path:
    """The user cache folder: ``AELAB_CACHE``, else ``$XDG_CACHE_HOME/aelab``, else
    ``~/.cache/aelab``. It is not created here."""
    override = os.environ.get(ENV_CACHE)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "aelab"


def data_roots(data_dir: str | Path | None = None) -> list[tuple[str, Path]]:
    """The data roots to search, in order, each as ``(where it came from, folder)``.

    Raises
    ------
    DataError
        If `data_dir` or a folder named in ``AELAB_DATA`` is not a folder (a typo there would
        otherwise end in a silent download).
    """
    roots: list[tuple[str, Path]] = []
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise DataError(
                f"data_dir {str(path)!r} is not a folder. Pass a folder that holds the dataset "
                f"files (e.g. a mirror with mnist/, kmnist/, ...), or leave data_dir unset to "
                f"use {ENV_DATA} and the cache."
            )
        roots.append(("data_dir", path))
    for part in os.environ.get(ENV_DATA, "").split(os.pathsep):
        if not part:
            continue
        path = Path(part).expanduser()
        if not path.is_dir():
            raise DataError(
                f"{ENV_DATA} names {part!r}, which is not a folder. Point {ENV_DATA} at a "
                f"folder that holds the dataset files (several are separated by "
                f"{os.pathsep!r}), or unset it."
            )
        roots.append((ENV_DATA, path))
    roots.append(("cache", cache_dir()))
    return roots


# md5 of files already hashed, keyed by (path, size, mtime) so that an edited file is re-hashed.
_MD5_CACHE: dict[tuple[str, int, int], str] = {}


def file_md5(path: str | Path) -> str:
    """The md5 hex digest of a file, remembered in memory per (path, size, mtime)."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _MD5_CACHE:
        digest = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        _MD5_CACHE[key] = digest.hexdigest()
    return _MD5_CACHE[key]


def verify(path: Path, remote: RemoteFile) -> None:
    """Raise DataError if the md5 of `path` is not the one `remote` expects."""
    if remote.md5 is None:
        return
    got = file_md5(path)
    if got != remote.md5:
        source = f" from {remote.urls[0]}" if remote.urls else ""
        raise DataError(
            f"{path} does not match its checksum: expected md5 {remote.md5}, got {got}. The "
            f"file is corrupt, truncated or a different version. Delete it and run again to "
            f"download a fresh copy, or replace it with the official file{source}."
        )


class _DownloadFailed(Exception):
    """One URL failed; the reason is collected and reported with the others."""


def download_url(
    url: str, dest: Path, *, md5: str | None, progress: ProgressFactory | None = None
) -> Path:
    """Download `url` to `dest` through a temporary file in the same folder.

    The temporary file is renamed to `dest` only when the download is complete (as long as the
    Content-Length says) and its md5 matches; on any failure it is removed.

    Raises
    ------
    _DownloadFailed
        With the reason (HTTP status, no connection, truncated, checksum mismatch).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            got = _stream(url, out, desc=dest.name, progress=progress)
        if md5 is not None and got != md5:
            raise _DownloadFailed(f"checksum mismatch: expected md5 {md5}, got {got}")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _stream(url: str, out: Any, *, desc: str, progress: ProgressFactory | None) -> str:
    """Copy the body of `url` into `out`; return its md5."""
    digest = hashlib.md5(usedforsecurity=False)
    n_bytes, total = 0, None
    deadline = download_deadline()
    t_end = time.monotonic() + deadline
    try:
        with urllib.request.urlopen(url, timeout=min(_TIMEOUT_S, deadline)) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = progress(total=total, desc=desc, unit="B", unit_scale=True) if progress else None
            with bar if bar is not None else nullcontext():
                while chunk := response.read1(_CHUNK):   # what has arrived, up to _CHUNK
                    if time.monotonic() > t_end:
                        raise _DownloadFailed(
                            f"too slow: {n_bytes + len(chunk)} of {total or '?'} bytes after "
                            f"the {deadline:g} s deadline ({ENV_DEADLINE} sets it)")
                    out.write(chunk)
                    digest.update(chunk)
                    n_bytes += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        raise _DownloadFailed(f"HTTP error {e.code} ({e.reason})") from e
    except urllib.error.URLError as e:
        raise _DownloadFailed(f"cannot connect ({e.reason})") from e
    except http.client.IncompleteRead as e:
        raise _DownloadFailed(
            f"truncated: the connection closed after {n_bytes + len(e.partial)} of "
            f"{total} bytes"
        ) from e
    except (OSError, http.client.HTTPException) as e:
        raise _DownloadFailed(f"{type(e).__name__}: {e}") from e
    if total is not None and n_bytes != total:
        raise _DownloadFailed(f"truncated: got {n_bytes} of {total} bytes (Content-Length)")
    return digest.hexdigest()


class Fetcher:
    """Finds the files of a recipe in the data roots, verifies them, and downloads what is
    missing. Recipes receive one and call :meth:`fetch`.

    Parameters
    ----------
    data_dir : str or Path, optional
        Searched first.
    download : bool
        Whether a file found nowhere may be downloaded into the cache.
    progress : callable, optional
        A tqdm-like factory for download progress bars.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        download: bool = True,
        progress: ProgressFactory | None = None,
    ):
        self.roots = data_roots(data_dir)
        self.download = download
        self.progress = progress

    def locate(self, remote: RemoteFile) -> Path | None:
        """The first existing copy of `remote` in the data roots (no hashing), or None."""
        for _, root in self.roots:
            for path in remote.candidates(root):
                if path.is_file():
                    return path
        return None

    def fetch(self, remote: RemoteFile, *, hint: str = "") -> Path:
        """The path of a verified copy of `remote`, downloading it into the cache if needed.

        `hint` is appended to the error messages (e.g. another way to get the data).

        Raises
        ------
        DataError
            If a found copy fails its checksum, the file is nowhere and cannot be downloaded,
            or every download URL fails.
        """
        path = self.locate(remote)
        if path is not None:
            verify(path, remote)
            logger.debug("Using %s", path)
            return path
        urls = remote.download_urls()
        if not self.download or not urls:
            raise DataError(self._not_found_message(remote, urls) + hint)
        return self._download(remote, urls, hint)

    def describe(self, remote: RemoteFile) -> dict[str, str]:
        """``{"file", "status", "path" | "url"}``: where `remote` is, or where it would come
        from. Existence checks only: nothing is hashed or downloaded."""
        path = self.locate(remote)
        if path is not None:
            return {"file": remote.name, "status": "found", "path": str(path)}
        urls = remote.download_urls()
        if urls:
            return {"file": remote.name, "status": "download", "url": urls[0]}
        return {"file": remote.name, "status": "missing", "path": ""}

    def _download(self, remote: RemoteFile, urls: tuple[str, ...], hint: str) -> Path:
        dest = cache_dir() / remote.folder / remote.name
        failures = []
        for url in urls:
            logger.info("Downloading %s from %s", remote.name, url)
            try:
                path = download_url(url, dest, md5=remote.md5, progress=self.progress)
            except _DownloadFailed as e:
                logger.warning("Download of %s from %s failed: %s", remote.name, url, e)
                failures.append(f"  {url}: {e}")
                continue
            logger.info("Saved %s", path)
            return path
        raise DataError(
            f"Could not download {remote.folder}/{remote.name} (expected md5 {remote.md5}):\n"
            + "\n".join(failures)
            + f"\nNothing was kept in {dest.parent}. Fix: set {ENV_DATA} to a folder holding "
            f"{remote.folder}/{remote.name} (or pass data_dir=...), or check your network "
            f"and try again." + hint
        )

    def _not_found_message(self, remote: RemoteFile, urls: tuple[str, ...]) -> str:
        searched = "\n".join(
            f"  {path}  ({origin})"
            for origin, root in self.roots
            for path in remote.candidates(root)
        )
        if urls:
            why, fix = " and download=False", ", or allow downloading (download=True)"
        else:
            why, fix = " (it cannot be downloaded on its own)", ""
        return (
            f"{remote.folder}/{remote.name} was not found{why}. Searched:\n{searched}\n"
            f"Fix: pass data_dir=<folder holding {remote.folder}/{remote.name}> or set "
            f"{ENV_DATA} to it{fix}."
        )
