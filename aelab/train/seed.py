"""Seeding and device resolution."""

from __future__ import annotations

import random

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


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU. Asking for CUDA without one is an error,
    not a silent fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device = {name!r} but no CUDA device is available. "
                          "Use train.device='cpu' or 'auto'.")
    return torch.device(name)
