"""aelab flushes subnormal floats at import (see aelab/_cpu.py), unless asked not to."""

import os
import subprocess
import sys

import pytest
import torch

PROBE = ("import aelab, torch; "
         "print((torch.tensor([1e-39], dtype=torch.float32) * 1.0).item())")


def _probe(env_extra: dict) -> float:
    env = os.environ | env_extra
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip())


def test_subnormals_are_flushed_after_import():
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU does not support flush-to-zero")
    assert _probe({"AELAB_KEEP_DENORMALS": ""}) == 0.0


def test_keep_denormals_opt_out():
    assert _probe({"AELAB_KEEP_DENORMALS": "1"}) == pytest.approx(1e-39, rel=1e-3)
