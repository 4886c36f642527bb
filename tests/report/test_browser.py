"""The reports as a person sees them: a run's report.html and a study's report opened in
headless Chromium, with no console errors, every <img> decoded (naturalWidth > 0) and the main
sections present. A screenshot of each page is kept under $TMPDIR/aelab-browser/ to look at.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages ending in NUL on file descriptors 3 and 4), so no websocket library or browser
download is needed. Skips where no Chromium is installed (Debian: ``apt-get install
chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from aelab.config import RunConfig
from aelab.runs import train_run
from aelab.studies import run_study

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
                 if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: "
                                "apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe"]
SHOTS = Path(tempfile.gettempdir()) / "aelab-browser"


class Chromium:
    """A headless Chromium and a minimal DevTools-protocol client over its pipe."""

    def __init__(self, user_data_dir: Path, timeout: float = 60.0):
        cmd_r, self._cmd_w = os.pipe()          # we write commands, Chromium reads fd 3
        self._out_r, out_w = os.pipe()          # Chromium writes fd 4, we read

        def wire():                             # in the child, before exec
            os.dup2(cmd_r, 3)
            os.dup2(out_w, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(out_w)
        self.timeout, self._buf, self._id, self.events = timeout, b"", 0, []

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._out_r], [], [], max(0.0, deadline - time.time()))
            if not ready:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._out_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + self.timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> None:
        deadline = time.time() + self.timeout
        seen = lambda m: m.get("method") == method and m.get("sessionId") == session  # noqa: E731
        while not any(seen(m) for m in self.events):
            self.events.append(self._message(deadline))

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._out_r)


def open_page(browser: Chromium, page: Path, shot: Path) -> dict:
    """Load `page`; return its console errors, images, h1/h2 texts; save a full screenshot."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target,
                                                     "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        browser.send(f"{domain}.enable", session=session)
    browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
    browser.wait_for("Page.loadEventFired", session)

    def evaluate(expression: str):
        return browser.send("Runtime.evaluate", {"expression": expression,
                                                 "returnByValue": True}, session)["result"]["value"]

    images = evaluate("[...document.images].map(i => ({src: i.src.slice(0, 60), "
                      "complete: i.complete, width: i.naturalWidth}))")
    headings = evaluate("[...document.querySelectorAll('h1, h2')].map(h => h.textContent)")
    size = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
    png = browser.send("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}},
        session)["data"]
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.write_bytes(base64.b64decode(png))
    errors = []
    for m in browser.events:
        method, params = m.get("method"), m.get("params", {})
        if m.get("sessionId") != session:
            continue
        if method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description")))
                                   for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(params["entry"]["text"])
    browser.send("Target.closeTarget", {"targetId": target})
    return {"errors": errors, "images": images, "headings": headings}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def assert_renders(seen: dict, sections: list[str], min_images: int) -> None:
    assert seen["errors"] == []
    assert len(seen["images"]) >= min_images
    broken = [i for i in seen["images"] if not (i["complete"] and i["width"] > 0)]
    assert broken == []
    assert set(sections) <= set(seen["headings"]), seen["headings"]


def test_browser_check_catches_a_broken_image_and_a_console_error(browser, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<html><body><h2>Figures</h2><img src="missing.png">'
                    '<script>console.error("boom")</script></body></html>')
    seen = open_page(browser, page, tmp_path / "broken.png")
    assert any("boom" in e for e in seen["errors"])
    assert seen["images"][0]["width"] == 0
    with pytest.raises(AssertionError):
        assert_renders(seen, ["Figures"], 1)


def test_browser_run_report_renders(browser, tmp_path):
    cfg = RunConfig.from_dict({
        "name": "browser", "data": {"name": "digits", "limit": 150, "test_limit": 30},
        "model": {"name": "dense", "latent_dim": 4, "hidden": [16]},
        "train": {"epochs": 2, "batch_size": 32}})
    run = train_run(cfg, tmp_path / "browser")            # the title names the folder
    seen = open_page(browser, run / "report.html", SHOTS / "run-report.png")
    assert_renders(seen, ["aelab run: browser", "Metrics", "Training history", "Figures",
                          "Configuration", "Environment"], min_images=2)
    assert (SHOTS / "run-report.png").stat().st_size > 10_000


def test_browser_quickstart_study_report_renders(browser, tmp_path):
    report = run_study("quickstart", out_dir=tmp_path, quick=True)
    seen = open_page(browser, Path(report), SHOTS / "study-quickstart.png")
    # One section per run (loss curves and reconstructions each) after the comparison table.
    assert_renders(seen, ["Runs", "dense", "conv"], min_images=4)
    assert (SHOTS / "study-quickstart.png").stat().st_size > 10_000
