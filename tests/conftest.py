"""Shared fixtures: tiny seeded data, the dataset mirror, the --runslow option."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("AELAB_TEST_MIRROR", REPO.parent / "shared" / "datasets"))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --runslow to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def mirror() -> Path:
    """The read-only dataset mirror beside the project (skips when it is absent)."""
    if not (MIRROR / "MANIFEST.json").is_file():
        pytest.skip(f"dataset mirror not found at {MIRROR} (set AELAB_TEST_MIRROR)")
    return MIRROR


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never read or write the user's real cache, and never find a mirror by accident."""
    monkeypatch.setenv("AELAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("AELAB_DATA", raising=False)


@pytest.fixture
def tiny_images() -> np.ndarray:
    """64 seeded 8x8 grey uint8 images with smooth structure (blobs), (64, 1, 8, 8)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:8, 0:8]
    cy, cx = rng.uniform(1, 7, size=(2, 64, 1, 1))
    img = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 4.0)
    return (img[:, None] * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models train many times faster on one thread when the cores are shared (OpenMP
    threads spin-wait on each other); the setting is restored afterwards. A module asks for
    it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
