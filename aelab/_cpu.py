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

`configure` also tells glibc's allocator to keep freed memory of up to 32 MiB a block in the
process (``mallopt``: mmap threshold 32 MiB, trim threshold 64 MiB). By default glibc hands
large blocks straight back to the kernel, so each activation of a conv autoencoder (6.4 MB
at batch 128 in bf16) is mapped afresh every step and every page of it faults on first touch:
the conv autoencoder of configs/mnist_conv.toml took 51-56 ms a step at batch 128 in bf16 with
about 450k page faults, and 38-39 ms with about 100k once the memory was kept, at the same peak
memory (0.45-0.47 GB; benchmarks/results/conv_step.json; in fp32 the gain is smaller and varies
from run to run). Set
``AELAB_KEEP_MALLOC=1`` to leave the allocator as it is. Other C libraries are left alone.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

FLUSH_DENORMAL = os.environ.get("AELAB_KEEP_DENORMALS", "") in ("", "0")
TUNE_MALLOC = os.environ.get("AELAB_KEEP_MALLOC", "") in ("", "0")
_state: dict[str, bool] = {}

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3          # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20                               # glibc's largest allowed value
TRIM_THRESHOLD = 64 << 20


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (see the module docstring); return whether it
    was done (False on other C libraries, or when AELAB_KEEP_MALLOC is set)."""
    import ctypes
    import platform

    if not TUNE_MALLOC or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    # mallopt returns 1 on success; setting either threshold also ends glibc's own
    # adjusting of both, so both are set
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def configure() -> bool:
    """Keep freed memory in the process (`keep_freed_memory`) and enable flush-to-zero on
    this thread (and every thread created later); return whether flush-to-zero is in effect.
    Cheap after the first call."""
    if "on" in _state:
        return _state["on"]
    import torch

    _state["malloc"] = keep_freed_memory()
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
