"""Importing aelab has no side effects; training flushes subnormal floats (aelab/_cpu.py)
on every thread of torch's pool, unless asked not to."""

import os
import subprocess
import sys

import pytest
import torch

# a short training, then a parallel op over 1M subnormals on every pool thread
PROBE = ("import numpy as np, torch; torch.set_num_threads(2); "
         "from aelab.config import LossConfig, TrainConfig; from aelab.losses import "
         "build_objective; from aelab.models import create_model; from aelab.train import "
         "Batches, fit; m = create_model('dense', (1, 4, 4), latent_dim=2, hidden=[4]); "
         "fit(m, build_objective(LossConfig(name='mse'), m), Batches(np.zeros((8, 1, 4, 4), "
         "np.uint8), batch_size=4), None, TrainConfig(epochs=1), device=torch.device('cpu')); "
         "print(int((torch.full((1 << 20,), 1e-39) * 1.0 != 0).sum()))")


def _run(code: str, env_extra: dict | None = None) -> str:
    env = os.environ | (env_extra or {})
    return subprocess.run([sys.executable, "-c", code], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_import_aelab_has_no_side_effects_and_no_heavy_imports():
    out = _run("import sys, aelab; print(sorted(m for m in ('matplotlib', 'sklearn', 'torch') "
               "if m in sys.modules)); from aelab import RunConfig; print(RunConfig().name)")
    assert out.splitlines() == ["[]", "run"]


def test_subnormals_are_flushed_on_every_thread_once_training_starts():
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU does not support flush-to-zero")
    torch.set_flush_denormal(False)
    assert _run(PROBE, {"AELAB_KEEP_DENORMALS": ""}) == "0"


def test_keep_denormals_opt_out():
    assert int(_run(PROBE, {"AELAB_KEEP_DENORMALS": "1"})) == 1 << 20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_configure_keeps_freed_memory_on_glibc_unless_asked_not_to():
    """The allocator thresholds are set (mallopt accepted both), or left with the opt-out.
    Their effect on page faults varies run to run with glibc's own adjustments, so it is
    measured in benchmarks/train_throughput.py, not here."""
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    code = "from aelab import _cpu; _cpu.configure(); print(_cpu._state['malloc'])"
    assert _run(code, {"AELAB_KEEP_MALLOC": ""}) == "True"
    assert _run(code, {"AELAB_KEEP_MALLOC": "1"}) == "False"
