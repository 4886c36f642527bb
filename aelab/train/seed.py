"""Seeding and device resolution.

Randomness in aelab comes from generators seeded from a run's or a study's seed. The one
exception is what torch draws from its global RNG because it takes no generator: the initial
weights of ``nn`` layers and dropout masks. Those are drawn inside `seeded`, which seeds the
global RNG for the block and restores it afterwards, so a model built there is the same
whatever ran before it in the process, and code after the block is not disturbed. This file
is the only place that calls ``torch.manual_seed``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from ..errors import ConfigError


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (weights are initialised from torch's default RNG), and
    return a fresh generator for the randomness the training loop itself draws."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's global RNG (CPU and CUDA) seeded with `seed`, and restore
    the RNG's previous state when the block ends.

    Build (and, for dropout, train) a model inside it::

        with seeded(seed):
            model = create_classifier("cnn", shape, n_classes)
    """
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def resolve_device(name: str = "auto", key: str = "train.device") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU. Asking for CUDA without one (or for a GPU
    index beyond the last) is an error naming `key`, not a silent fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"{key} = {name!r} but no CUDA device is available. "
                              f"Use {key} = 'cpu' or 'auto'.")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{key} = {name!r} but this machine has "
                              f"{torch.cuda.device_count()} GPU(s) (cuda:0 .. "
                              f"cuda:{torch.cuda.device_count() - 1}).")
        return device
    if name != "cpu":
        raise ConfigError(f"{key} = {name!r} is not a device: use auto, cpu, cuda or cuda:N.")
    return torch.device(name)
