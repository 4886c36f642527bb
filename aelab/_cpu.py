"""CPU floating-point set-up, applied once when aelab is imported.

Training drives some gradients, Adam moments and weights into the subnormal range (|v| <
1.2e-38). x86 CPUs handle subnormals in microcode, so a dense autoencoder that trains at
~12k images/s in its first epoch falls to ~4.7k images/s by its third (2 cores, batch 32;
see ``benchmarks/train_throughput.py``). Flushing subnormals to zero (FTZ/DAZ) removes the
slowdown; the values it changes are below 1.2e-38 and do not change what a network learns.

The setting is per thread and inherited only by threads created afterwards, so it must be made
before torch starts its OpenMP pool (the first parallel op). Importing aelab early does that.
Set ``AELAB_KEEP_DENORMALS=1`` to keep torch's default (IEEE subnormals).
"""

from __future__ import annotations

import os

import torch

FLUSH_DENORMAL = os.environ.get("AELAB_KEEP_DENORMALS", "") in ("", "0")


def configure() -> bool:
    """Enable flush-to-zero on this thread (and every thread created later); return whether
    the CPU supports it."""
    if not FLUSH_DENORMAL:
        return False
    return bool(torch.set_flush_denormal(True))
