"""Corruptions: what a denoising or inpainting autoencoder sees instead of the clean image.

A corruption acts on a float batch ``x`` (B, C, H, W) in [0, 1] inside the training step and
returns ``x_in``; the target stays the clean ``x`` and datasets are never corrupted. All
randomness comes from the ``torch.Generator`` passed in (the one `aelab.train.fit` seeds), so
a seeded run sees the same corruptions every time.

Registered names (``[[corruption]]`` tables in a run config, ``aelab list corruptions``):
``gaussian``, ``salt_pepper`` (noise.py), ``stripes``, ``block``, ``mask`` (masks.py),
``affine`` (affine.py: small random rotations, scalings and shifts), ``downscale``
(resize.py: shrunk and bicubic-upscaled back).
Several combine in order (`Compose`), e.g. a block and then gaussian noise.

Example
-------
>>> import torch
>>> corrupt = build([{"name": "gaussian", "factor": 0.5}, {"name": "block", "size": 4}])
>>> x = torch.zeros(2, 1, 8, 8)
>>> x_in, hidden = corrupt.apply(x, torch.Generator().manual_seed(0))
>>> tuple(x_in.shape), int(hidden.sum())
((2, 1, 8, 8), 32)
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..registry import Registry, reject_unknown_options
from .base import Corruption

CORRUPTIONS: Registry[type[Corruption]] = Registry("corruption")


class Compose(Corruption):
    """Apply corruptions in order; the hidden region is the union of theirs."""

    def __init__(self, parts: Sequence[Corruption]):
        self.parts = list(parts)

    def apply(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        hidden = None
        for part in self.parts:
            x, h = part.apply(x, generator)
            if h is not None:
                hidden = h if hidden is None else hidden | h
        return x, hidden

    def __repr__(self) -> str:
        return " + ".join(map(repr, self.parts)) or "none"


def check_params(name: str, params: Mapping[str, Any], key: str = "corruption") -> None:
    """Raise ConfigError unless `params` are keyword arguments of corruption `name`."""
    cls = CORRUPTIONS.get(name, key=f"{key}.name")
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    reject_unknown_options(params, allowed, key=key, owner=f"corruption {name!r}")


def create(name: str, **params: Any) -> Corruption:
    """One registered corruption, e.g. ``create("gaussian", factor=0.5)``."""
    check_params(name, params)
    return CORRUPTIONS.get(name, key="corruption.name")(**params)


def build(specs: Sequence[Mapping[str, Any]] | Sequence[Any]) -> Compose:
    """A `Compose` from dicts ``{"name": ..., **params}`` (or `CorruptionConfig`s)."""
    parts = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, Mapping):
            spec = {"name": spec.name, **spec.params}
        params = {k: v for k, v in spec.items() if k != "name"}
        check_params(spec["name"], params, key=f"corruption[{i}]")
        parts.append(CORRUPTIONS.get(spec["name"])(**params))
    return Compose(parts)


def corrupt_array(corruption: Corruption, images: np.ndarray, *, seed: int = 0,
                  batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray | None]:
    """Corrupt uint8 images (N, C, H, W) once, reproducibly: float32 ``x_in`` in [0, 1] and
    the hidden region (bool (N, 1, H, W), or None when nothing is hidden).

    Batches are corrupted in order with one generator seeded by `seed`, so the same
    images, seed and batch size always give the same corrupted set (used for test sets).
    """
    gen = torch.Generator().manual_seed(seed)
    outs, hiddens = [], []
    for start in range(0, len(images), batch_size):
        x = torch.as_tensor(np.ascontiguousarray(images[start:start + batch_size])).float() / 255
        x_in, hidden = corruption.apply(x, gen)
        outs.append(x_in.numpy())
        hiddens.append(None if hidden is None else hidden.numpy())
    x_in = np.concatenate(outs) if outs else np.zeros(images.shape, np.float32)
    if not hiddens or any(h is None for h in hiddens):
        return x_in, None
    return x_in, np.concatenate(hiddens)


from . import affine, masks, noise, resize  # noqa: E402,F401,I001  (register the corruptions)

__all__ = ["CORRUPTIONS", "Compose", "Corruption", "build", "check_params", "corrupt_array",
           "create"]
