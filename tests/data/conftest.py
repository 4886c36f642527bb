"""Fixtures for aelab.data: an isolated cache, a loopback HTTP server, tiny IDX files, and the
shared dataset mirror (tests using it are skipped when it is absent)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import struct
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

# tests/data/conftest.py -> repo root is parents[2]; the mirror sits beside the repo.
MIRROR = Path(
    os.environ.get("AELAB_TEST_MIRROR")
    or Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the cache at tmp_path and clear the other aelab variables."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("AELAB_CACHE", str(cache))
    monkeypatch.delenv("AELAB_DATA", raising=False)
    monkeypatch.delenv("AELAB_DOWNLOAD_URL", raising=False)
    return cache


@pytest.fixture
def mirror() -> Path:
    if not (MIRROR / "mnist").is_dir():
        pytest.skip(f"dataset mirror not found at {MIRROR} (set AELAB_TEST_MIRROR to it)")
    return MIRROR


class _Handler(SimpleHTTPRequestHandler):
    """Serves files from the server's folder; paths in ``server.short`` get a Content-Length
    larger than the body they send, like a dropped connection."""

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.path in self.server.short:
            body = self.server.short[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(2 * len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@dataclass
class Server:
    root: Path  # files under root are served at url + "/" + relative path
    url: str
    requests: list[str] = field(default_factory=list)
    short: dict[str, bytes] = field(default_factory=dict)


@pytest.fixture
def http_server(tmp_path: Path):
    """A ThreadingHTTPServer on 127.0.0.1 (free port) serving tmp_path/served."""
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root))
    )
    server = Server(root, f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.requests = server.requests
    httpd.short = server.short
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def idx_bytes(array: np.ndarray) -> bytes:
    """Uncompressed IDX bytes of a uint8 array (magic 0x0800 + ndim)."""
    header = struct.pack(f">I{array.ndim}I", 0x0800 + array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_gz(path: Path, array: np.ndarray) -> str:
    """Write `array` as a gzip IDX file; return its md5."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(idx_bytes(array), mtime=0))
    return hashlib.md5(path.read_bytes()).hexdigest()


@dataclass
class TinyMnist:
    """Six 28x28 images and labels written as the four MNIST IDX files."""

    folder: Path
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    md5s: dict[str, str]


def make_tiny_mnist(folder: Path) -> TinyMnist:
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    y_train = np.array([0, 1, 2, 3, 4, 9], dtype=np.uint8)
    x_test = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    y_test = np.array([5, 6, 7], dtype=np.uint8)
    md5s = {
        "train_images": write_idx_gz(folder / "train-images-idx3-ubyte.gz", x_train),
        "train_labels": write_idx_gz(folder / "train-labels-idx1-ubyte.gz", y_train),
        "test_images": write_idx_gz(folder / "t10k-images-idx3-ubyte.gz", x_test),
        "test_labels": write_idx_gz(folder / "t10k-labels-idx1-ubyte.gz", y_test),
    }
    return TinyMnist(folder, x_train, y_train, x_test, y_test, md5s)


# Official URLs of patched recipes point at a closed local port, so a test that failed to
# override them can never reach the internet.
UNREACHABLE = ("http://127.0.0.1:9/unreachable/",)


@pytest.fixture
def unreachable() -> tuple[str, ...]:
    return UNREACHABLE


@pytest.fixture
def idx_gz():
    """``idx_gz(path, array) -> md5``: write a gzip IDX file."""
    return write_idx_gz


@pytest.fixture
def tiny_mnist(http_server: Server, monkeypatch: pytest.MonkeyPatch) -> TinyMnist:
    """Tiny MNIST files served at <server>/mnist/, with the mnist recipe's md5s patched to
    theirs and AELAB_DOWNLOAD_URL pointing at the server."""
    from aelab.data import mnist

    tiny = make_tiny_mnist(http_server.root / "mnist")
    monkeypatch.setattr(mnist.MNIST, "files", mnist.idx_files("mnist", UNREACHABLE, tiny.md5s))
    monkeypatch.setenv("AELAB_DOWNLOAD_URL", http_server.url)
    return tiny
