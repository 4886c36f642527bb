"""Checkpoints without pickle: weights and optimizer state as safetensors, the rest as JSON.

Every file is written to a temporary name in the same folder and renamed into place, so a
crash mid-write never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..errors import DataError


def atomic_write(path: str | Path, write) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file to `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, obj: Any) -> None:
    text = json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def save_optimizer(optimizer: torch.optim.Optimizer, path: str | Path, extra: dict) -> None:
    """Save an optimizer's state (tensors) and param groups plus `extra` (JSON metadata)."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    meta = {"param_groups": sd["param_groups"], "scalars": scalars, "extra": extra}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"aelab": json.dumps(meta)}))


def load_optimizer(optimizer: torch.optim.Optimizer, path: str | Path) -> dict:
    """Restore state saved by `save_optimizer` into `optimizer`; return the `extra` dict."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise DataError(f"cannot resume: {path} is missing. The run folder has no optimizer "
                        "state; start a new run instead of --resume.")
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["aelab"])
    tensors = load_file(str(path))
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = value
    for name, value in meta["scalars"].items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    # Saved tensors come back in the default layout; give each state tensor its parameter's
    # layout (e.g. channels_last), as a fresh optimizer would: fused kernels assume they match.
    for group in optimizer.param_groups:
        for p in group["params"]:
            for key, value in optimizer.state.get(p, {}).items():
                if torch.is_tensor(value) and value.shape == p.shape:
                    laid_out = torch.empty_like(p, dtype=value.dtype)
                    optimizer.state[p][key] = laid_out.copy_(value)
    return meta["extra"]
