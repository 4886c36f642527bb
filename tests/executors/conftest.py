"""One local Ray cluster for the whole test session (Ray takes seconds to start)."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    """A real 2-CPU Ray instance on this machine; tests that use it skip without Ray."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'aelab[ray]'")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


@pytest.fixture
def recorder():
    """A tqdm-like progress factory that records the run lines and the bar's steps."""
    from executor_helpers import LineRecorder

    return LineRecorder()
