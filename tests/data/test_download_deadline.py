"""A server that trickles bytes cannot hold a download forever: the total deadline ends it."""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path

import pytest

from aelab.data import download


class _Trickle(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the http.server API)
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):       # one byte every 0.1 s: never a per-read timeout
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def trickle_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slow.bin"
    server.shutdown()
    server.server_close()


def test_download_deadline_stops_a_trickling_server(trickle_url, tmp_path: Path, monkeypatch):
    monkeypatch.setenv(download.ENV_DEADLINE, "1")
    t0 = time.monotonic()
    with pytest.raises(download._DownloadFailed, match="deadline") as info:
        download.download_url(trickle_url, tmp_path / "slow.bin", md5=None)
    assert time.monotonic() - t0 < 5
    assert "of 1000 bytes" in str(info.value) and download.ENV_DEADLINE in str(info.value)
    assert list(tmp_path.iterdir()) == []          # the partial file is gone


def test_download_deadline_must_be_positive(monkeypatch):
    monkeypatch.setenv(download.ENV_DEADLINE, "soon")
    with pytest.raises(download.DataError, match="AELAB_DOWNLOAD_DEADLINE"):
        download.download_deadline()
