"""Provenance: which machine, which library versions and which command produced a file.

One writer for every place that records it: a run folder's ``env.json``, a super-resolution
run's ``env.json``, and the ``machine`` / ``versions`` / ``command`` of every study result file
and benchmark. The keys are the same everywhere:

- ``machine``: platform, machine (the architecture), cpu_model (from /proc/cpuinfo where there
  is one), cpu_bf16 (the CPU's native bf16 flags: avx512_bf16, amx_bf16), cpu_count,
  torch_threads, cpu_capability (the SIMD level torch dispatches to), cuda_device;
- ``versions``: aelab, python, and each numeric library that is installed, read from its package
  metadata (nothing is imported for it).
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "numpy", "scipy", "scikit-learn", "scikit-image", "safetensors",
            "umap-learn", "bm3d", "ray")
BF16_FLAGS = ("avx512_bf16", "amx_bf16", "amx_tile")


def _cpuinfo() -> tuple[str | None, list[str]]:
    """The CPU's model name and its bf16-related flags, on Linux; (None, []) elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None, []
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model is None:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return model, [f for f in BF16_FLAGS if f in flags]


def machine() -> dict[str, Any]:
    import torch

    model, bf16 = _cpuinfo()
    return {"platform": platform.platform(), "machine": platform.machine(),
            "cpu_model": model or platform.processor() or None, "cpu_bf16": bf16,
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def versions() -> dict[str, str]:
    from . import __version__

    out = {"aelab": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def command_line(argv: list[str] | None = None) -> str:
    """The command that is running, as a shell line: ``aelab ...`` for the CLI (with the
    AELAB_DATA it read), else the Python command."""
    argv = list(sys.argv if argv is None else argv)
    if argv and Path(argv[0]).name in ("aelab", "__main__.py"):
        argv = ["aelab", *argv[1:]]
    line = " ".join(shlex.quote(a) for a in argv)
    data = os.environ.get("AELAB_DATA")
    return f"AELAB_DATA={shlex.quote(data)} {line}" if data else line


def provenance(command: str | None = None) -> dict[str, Any]:
    """``{"command", "machine", "versions"}`` for a result file or a run's env.json."""
    return {"command": command if command is not None else command_line(),
            "machine": machine(), "versions": versions()}
