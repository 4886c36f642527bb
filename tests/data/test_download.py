"""Download, verification and look-up order, against a loopback HTTP server."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest

from aelab.data import load_dataset, mnist
from aelab.data.download import Fetcher, RemoteFile
from aelab.errors import DataError


def _cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if p.is_file()) if cache.exists() else []


def test_download_puts_verified_files_in_cache(tiny_mnist, isolated_env: Path):
    data = load_dataset("mnist")

    np.testing.assert_array_equal(data.x_train[:, 0], tiny_mnist.x_train)
    np.testing.assert_array_equal(data.y_test, tiny_mnist.y_test)
    assert data.y_train.dtype == np.int64
    cached = isolated_env / "mnist" / "train-images-idx3-ubyte.gz"
    assert hashlib.md5(cached.read_bytes()).hexdigest() == tiny_mnist.md5s["train_images"]
    assert _cache_files(isolated_env) == sorted(mnist._IDX_NAMES.values())  # no .part left


def test_download_second_load_reads_cache_without_network(
    tiny_mnist, http_server
):
    load_dataset("mnist")
    n_requests = len(http_server.requests)

    load_dataset("mnist")

    assert n_requests == 4
    assert len(http_server.requests) == n_requests


def test_download_reports_progress_in_bytes(tiny_mnist):
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

    load_dataset("mnist", progress=Bar, splits=("test",))

    sizes = {p.name: p.stat().st_size for p in tiny_mnist.folder.iterdir()}
    assert {b.kwargs["desc"]: b.n for b in bars} == {
        "t10k-images-idx3-ubyte.gz": sizes["t10k-images-idx3-ubyte.gz"],
        "t10k-labels-idx1-ubyte.gz": sizes["t10k-labels-idx1-ubyte.gz"],
    }
    assert all(b.kwargs["total"] == b.n and b.kwargs["unit"] == "B" for b in bars)


def test_download_wrong_checksum_raises_and_keeps_nothing(
    tiny_mnist, isolated_env: Path, monkeypatch, unreachable
):
    md5s = {**tiny_mnist.md5s, "test_images": "0" * 32}
    monkeypatch.setattr(mnist.MNIST, "files", mnist.idx_files("mnist", unreachable, md5s))

    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz") as info:
        load_dataset("mnist", splits=("test",))

    message = str(info.value)
    assert "expected md5 " + "0" * 32 in message
    assert tiny_mnist.md5s["test_images"] in message  # the md5 it got
    assert "t10k-images-idx3-ubyte.gz" not in _cache_files(isolated_env)
    assert not any(name.endswith(".part") for name in _cache_files(isolated_env))


def test_download_truncated_response_raises_and_keeps_nothing(
    tiny_mnist, http_server, isolated_env: Path
):
    body = (tiny_mnist.folder / "t10k-images-idx3-ubyte.gz").read_bytes()
    http_server.short["/mnist/t10k-images-idx3-ubyte.gz"] = body  # announces 2x its length

    with pytest.raises(DataError, match="truncated") as info:
        load_dataset("mnist", splits=("test",))

    assert "t10k-images-idx3-ubyte.gz" in str(info.value)
    assert "t10k-images-idx3-ubyte.gz" not in _cache_files(isolated_env)
    assert not any(name.endswith(".part") for name in _cache_files(isolated_env))


def test_download_http_404_names_url(tiny_mnist, http_server):
    (tiny_mnist.folder / "t10k-labels-idx1-ubyte.gz").unlink()

    with pytest.raises(DataError, match="404") as info:
        load_dataset("mnist", splits=("test",))

    assert f"{http_server.url}/mnist/t10k-labels-idx1-ubyte.gz" in str(info.value)


def test_download_without_network_suggests_aelab_data(monkeypatch, unreachable):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AELAB_DOWNLOAD_URL", f"http://127.0.0.1:{port}")
    remote = RemoteFile("x.bin", "tiny", md5="1" * 32, urls=unreachable)

    with pytest.raises(DataError, match="cannot connect") as info:
        Fetcher().fetch(remote)

    assert "set AELAB_DATA to a folder holding tiny/x.bin" in str(info.value)
    assert "expected md5 " + "1" * 32 in str(info.value)


def test_download_false_lists_places_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              isolated_env: Path):
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    monkeypatch.setenv("AELAB_DATA", str(env_dir))

    with pytest.raises(DataError, match="download=False") as info:
        load_dataset("mnist", data_dir=tmp_path, download=False)

    message = str(info.value)
    for root in (tmp_path, env_dir, isolated_env):
        assert str(root / "mnist" / "train-images-idx3-ubyte.gz") in message
        assert str(root / "train-images-idx3-ubyte.gz") in message


def test_fetch_found_file_with_wrong_md5_raises(tmp_path: Path, tiny_mnist,
                                               http_server):
    bad = tmp_path / "local" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not the official file")

    with pytest.raises(DataError, match="does not match its checksum") as info:
        load_dataset("mnist", data_dir=tmp_path / "local", splits=("test",))

    assert str(bad) in str(info.value)
    assert f"expected md5 {tiny_mnist.md5s['test_labels']}" in str(info.value)
    assert "/mnist/t10k-labels-idx1-ubyte.gz" not in http_server.requests  # no silent re-download


@pytest.mark.parametrize(
    ("present", "winner"),
    [(("data_dir", "env", "cache"), "data_dir"), (("env", "cache"), "env"), (("cache",), "cache")],
)
def test_lookup_order_data_dir_then_env_then_cache(
    tmp_path: Path, monkeypatch, isolated_env: Path, unreachable, present, winner
):
    roots = {"data_dir": tmp_path / "explicit", "env": tmp_path / "env", "cache": isolated_env}
    for name, root in roots.items():
        root.mkdir(parents=True, exist_ok=True)
        if name in present:
            (root / "tiny").mkdir()
            (root / "tiny" / "f.bin").write_text(name)
    monkeypatch.setenv("AELAB_DATA", str(roots["env"]))
    remote = RemoteFile("f.bin", "tiny", md5=None, urls=unreachable)

    path = Fetcher(roots["data_dir"], download=False).fetch(remote)

    assert path.read_text() == winner


def test_lookup_finds_file_directly_in_root(tmp_path: Path, unreachable):
    (tmp_path / "f.bin").write_text("flat")
    remote = RemoteFile("f.bin", "tiny", md5=None, urls=unreachable)

    assert Fetcher(tmp_path, download=False).fetch(remote) == tmp_path / "f.bin"


def test_lookup_missing_data_dir_raises(tmp_path: Path):
    with pytest.raises(DataError, match="is not a folder"):
        load_dataset("mnist", data_dir=tmp_path / "typo", download=False)


def test_format_html_page_saved_as_gz_raises(tmp_path: Path, monkeypatch, unreachable):
    no_md5 = dict.fromkeys(mnist._IDX_NAMES, None)
    monkeypatch.setattr(mnist.MNIST, "files", mnist.idx_files("mnist", unreachable, no_md5))
    page = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    page.parent.mkdir()
    page.write_text("<!DOCTYPE html><html><body>Access denied</body></html>")

    with pytest.raises(DataError, match=r"IDX image file \(magic 0x00000803\)") as info:
        load_dataset("mnist", data_dir=tmp_path, splits=("test",))

    assert str(page) in str(info.value)
    assert "HTML" in str(info.value)
