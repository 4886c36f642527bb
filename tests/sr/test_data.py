"""SR image sets: md5-verified look-up (mirror, loopback download, corrupt copies), folders,
colour conversion and degradations."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from aelab.errors import DataError
from aelab.sr.color import rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from aelab.sr.datasets import load_folder, load_set, remote_files
from aelab.sr.resize import downscale, modcrop, upscale_plane


def test_sets_list_every_file_with_md5():
    assert len(remote_files("Set5")) == 5 and len(remote_files("Set14")) == 14
    assert len(remote_files("T91")) == 91
    assert all(f.md5 and f.urls for f in remote_files("T91"))


def test_load_set5_from_mirror(mirror, monkeypatch):
    monkeypatch.setenv("AELAB_DATA", str(mirror))
    images = load_set("Set5", download=False)
    assert [im.name for im in images] == ["baby", "bird", "butterfly", "head", "woman"]
    assert images[0].pixels.shape == (512, 512, 3) and images[0].pixels.dtype == np.uint8


def test_load_set_downloads_and_verifies(mirror, monkeypatch, tmp_path):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(mirror))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AELAB_DOWNLOAD_URL", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("AELAB_CACHE", str(tmp_path / "cache"))
        images = load_set("Set5")
    finally:
        server.shutdown()
    assert len(images) == 5
    assert (tmp_path / "cache" / "sr-benchmarks" / "Set5" / "bird.png").is_file()


def test_corrupt_copy_is_refused_with_its_checksum(tmp_path):
    folder = tmp_path / "sr-benchmarks" / "Set5"
    folder.mkdir(parents=True)
    for f in remote_files("Set5"):
        (tmp_path / f.folder / f.name).write_bytes(b"not a png")
    with pytest.raises(DataError, match="expected md5"):
        load_set("Set5", data_dir=tmp_path, download=False)


def test_load_folder_reads_grey_and_rgb(tmp_path):
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((5, 6, 3), np.uint8)).save(tmp_path / "b.bmp")
    images = load_folder(tmp_path)
    assert [im.pixels.shape for im in images] == [(5, 6), (5, 6, 3)]
    with pytest.raises(DataError, match="not a folder"):
        load_folder(tmp_path / "missing")


def test_ycbcr_matches_matlab_and_round_trips():
    # MATLAB rgb2ycbcr: white -> (235, 128, 128), black -> (16, 128, 128).
    np.testing.assert_allclose(rgb_to_ycbcr(np.array([[[255, 255, 255], [0, 0, 0]]])),
                               [[[235, 128, 128], [16, 128, 128]]], atol=1e-3)
    rgb = np.random.default_rng(0).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    assert np.abs(ycbcr_to_rgb(rgb_to_ycbcr(rgb)).astype(int) - rgb).max() <= 1
    assert rgb_to_y(np.full((2, 2), 255, np.uint8))[0, 0] == pytest.approx(235, abs=1e-3)


def test_bicubic_shrink_keeps_constants_and_sizes():
    plane = np.full((12, 18), 100.0, np.float32)
    assert modcrop(np.zeros((13, 20)), 3).shape == (12, 18)
    for deg in ("bicubic", "blur"):
        low = downscale(plane, 3, deg)
        assert low.shape == (4, 6)
        np.testing.assert_allclose(low, 100.0, atol=1e-3)
    assert upscale_plane(low, 3).shape == (12, 18)
