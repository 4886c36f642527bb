"""Checkpoints without pickle: one safetensors file per epoch, committed by one rename.

``checkpoint.safetensors`` holds everything a resume needs, so a kill leaves the previous
epoch's checkpoint or the new one, never a mix:

- tensors ``model.*`` (the last weights), ``best.*`` (the best epoch's weights, when
  ``train.restore_best`` keeps them), ``optim.<param>.<key>`` (the optimizer state),
  ``rng.torch`` and ``rng.corrupt`` (the global and the corruption generators' states);
- metadata ``aelab_checkpoint``: JSON with the epoch, the optimizer step, the history (one
  dict per epoch), the loop state (best value, best epoch, epochs without improvement), the
  optimizer's param groups and the caller's ``run`` dict (the run config).

``model.safetensors``, ``best.safetensors`` and ``history.csv`` in a run folder are exports
of it, rewritten after each commit.

Test hook: with ``AELAB_TEST_CHECKPOINT_PAUSE=<seconds>`` in the environment, `save_checkpoint`
sleeps that long after the temporary file is written (``written``: not yet committed) and
after the rename (``committed``: exports not yet rewritten), first appending ``<epoch>
<point>`` to the file named by ``AELAB_TEST_CHECKPOINT_LOG`` if set. The fault-injection
tests kill a training in those windows; nothing else sets these variables.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import DataError
from ..files import atomic_write, write_json

__all__ = ["CHECKPOINT", "Checkpoint", "atomic_write", "load_optimizer", "read_checkpoint",
           "save_checkpoint", "save_optimizer", "write_json"]

CHECKPOINT = "checkpoint.safetensors"
METADATA_KEY = "aelab_checkpoint"
FORMAT = 1
PAUSE_ENV, LOG_ENV = "AELAB_TEST_CHECKPOINT_PAUSE", "AELAB_TEST_CHECKPOINT_LOG"


def _optimizer_state(optimizer: torch.optim.Optimizer, prefix: str
                     ) -> tuple[dict[str, torch.Tensor], dict]:
    """The optimizer's state as (tensors named ``<prefix><param>.<key>``, JSON metadata)."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                       meta: dict, prefix: str) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith(prefix):
            idx, key = name[len(prefix):].split(".", 1)
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


def save_optimizer(optimizer: torch.optim.Optimizer, path: str | Path, extra: dict) -> None:
    """Save an optimizer's state (tensors) and param groups plus `extra` (JSON metadata)."""
    tensors, meta = _optimizer_state(optimizer, "state.")
    meta["extra"] = extra
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"aelab": json.dumps(meta)}))


def load_optimizer(optimizer: torch.optim.Optimizer, path: str | Path) -> dict:
    """Restore state saved by `save_optimizer` into `optimizer`; return the `extra` dict."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"cannot resume: {path} is missing. The run folder has no optimizer "
                        "state; start a new run instead of --resume.")
    meta, tensors = _read(path, "aelab", "optimizer state")
    _restore_optimizer(optimizer, tensors, meta, "state.")
    return meta["extra"]


def _read(path: Path, key: str, what: str) -> tuple[dict, dict[str, torch.Tensor]]:
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(key)
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = json.loads(raw) if raw is not None else None
    except (SafetensorError, OSError, json.JSONDecodeError) as e:
        raise DataError(f"{what} {str(path)!r} is not readable ({e}); it may be truncated or "
                        "of another format.") from e
    if not isinstance(meta, dict):
        raise DataError(f"{what} {str(path)!r} has no {key!r} metadata; it was not written "
                        "by aelab.")
    return meta, tensors


def _pause_for_tests(point: str, epoch: int) -> None:
    seconds = os.environ.get(PAUSE_ENV)
    if not seconds:
        return
    if log := os.environ.get(LOG_ENV):
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{epoch} {point}\n")
    time.sleep(float(seconds))


@dataclass
class Checkpoint:
    """What `read_checkpoint` returns: the state of a training after `epoch` epochs."""

    path: Path
    epoch: int
    step: int
    history: list[dict[str, float]]
    loop: dict[str, float]
    run: dict[str, Any]
    optimizer: dict
    tensors: dict[str, torch.Tensor]

    def state(self, prefix: str) -> dict[str, torch.Tensor] | None:
        part = {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}
        return part or None

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                corrupt_gen: torch.Generator, steps_per_epoch: int) -> None:
        """Load weights, optimizer state and generator states; check the step count."""
        if self.step != self.epoch * steps_per_epoch:
            raise DataError(
                f"cannot resume from {str(self.path)!r}: it was saved after {self.step} "
                f"steps in {self.epoch} epochs, but the data now gives {steps_per_epoch} steps "
                "an epoch. The training data or train.batch_size changed; start a new run.")
        try:
            model.load_state_dict(self.state("model."))
        except RuntimeError as e:
            raise DataError(f"the weights in {str(self.path)!r} do not fit the configured "
                            f"model: {str(e).splitlines()[0]}") from e
        _restore_optimizer(optimizer, self.tensors, self.optimizer, "optim.")
        torch.set_rng_state(self.tensors["rng.torch"])
        corrupt_gen.set_state(self.tensors["rng.corrupt"])


def save_checkpoint(path: str | Path, *, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, best: dict[str, torch.Tensor] | None,
                    history: list[dict], loop: dict, step: int, corrupt_gen: torch.Generator,
                    run: dict | None = None) -> None:
    """Commit the training state after ``len(history)`` epochs to `path` in one rename."""
    epoch = len(history)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if best is not None:
        tensors |= {f"best.{k}": v.detach().cpu().contiguous() for k, v in best.items()}
    optim_tensors, optim_meta = _optimizer_state(optimizer, "optim.")
    tensors |= optim_tensors
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.corrupt"] = corrupt_gen.get_state().cpu()
    meta = {"format": FORMAT, "epoch": epoch, "step": step, "history": history, "loop": loop,
            "run": run or {}, "optimizer": optim_meta}

    def write(tmp: str) -> None:
        save_file(tensors, tmp, metadata={METADATA_KEY: json.dumps(meta)})
        _pause_for_tests("written", epoch)

    atomic_write(path, write)
    _pause_for_tests("committed", epoch)


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check a file `save_checkpoint` wrote.

    Raises
    ------
    DataError
        If it is missing, unreadable, of another format, or its history, epoch and
        generator states disagree (the message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"cannot resume: {str(path)!r} is missing, so the run has no "
                        "checkpoint to continue from. Start a new run (--overwrite).")
    meta, tensors = _read(path, METADATA_KEY, "checkpoint")
    if meta.get("format") != FORMAT:
        raise DataError(f"checkpoint {str(path)!r} has format {meta.get('format')!r}; this "
                        f"aelab reads format {FORMAT}. Start a new run.")
    history = meta["history"]
    epochs = [int(row.get("epoch", 0)) for row in history]
    if meta["epoch"] != len(history) or epochs != list(range(1, len(history) + 1)):
        raise DataError(f"checkpoint {str(path)!r} is inconsistent: it says epoch "
                        f"{meta['epoch']} but holds the history of epochs {epochs}.")
    if "rng.torch" not in tensors or "rng.corrupt" not in tensors or not any(
            k.startswith("model.") for k in tensors):
        raise DataError(f"checkpoint {str(path)!r} lacks the weights or generator states.")
    return Checkpoint(path, meta["epoch"], meta["step"], history, meta["loop"], meta["run"],
                      meta["optimizer"], tensors)
