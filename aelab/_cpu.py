"""CPU floating-point set-up, made where training or inference starts.

Training drives some gradients, Adam moments and weights into the subnormal range (|v| <
1.2e-38). x86 CPUs handle subnormals in microcode, so a dense autoencoder that trains at
~12k images/s in its first epoch falls to ~4.7k images/s by its third (2 cores, batch 32;
see ``benchmarks/train_throughput.py``). Flushing subnormals to zero (FTZ/DAZ) removes the
slowdown; the values it changes are below 1.2e-38 and do not change what a network learns.

The setting is per thread and inherited only by threads created afterwards, so it must be made
before torch starts its OpenMP pool (its first parallel op). `configure` is called first thing
by the command line and by every training and inference entry point (`aelab.train.fit`,
`aelab.train.classify.train_classifier`, ESPCN training, `aelab.infer.batched` and the tiled
apply paths); when torch's pool was started earlier by the caller's own code, the pool's
threads keep subnormals and `configure` says so once in the log. Set
``AELAB_KEEP_DENORMALS=1`` to keep torch's default (IEEE subnormals).
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

FLUSH_DENORMAL = os.environ.get("AELAB_KEEP_DENORMALS", "") in ("", "0")
_state: dict[str, bool] = {}


def configure() -> bool:
    """Enable flush-to-zero on this thread (and every thread created later); return whether
    it is in effect. Cheap after the first call."""
    if "on" in _state:
        return _state["on"]
    import torch

    if not FLUSH_DENORMAL:
        _state["on"] = False
        return False
    _state["on"] = bool(torch.set_flush_denormal(True))
    if _state["on"] and torch.get_num_threads() > 1:
        probe = torch.full((1 << 20,), 1e-39) * 1.0       # a parallel op over every thread
        if bool((probe != 0).any()):
            log.warning("torch's thread pool started before aelab could flush subnormals on "
                        "it: training may run up to 2.5x slower. Call aelab._cpu.configure() "
                        "before your first torch operation.")
    return _state["on"]
