"""Batched inference: `batched`, the one loop behind every prediction aelab makes in bulk
(reconstructions, codes, decoded codes, restored images, classifier logits and features,
upscaled images), and the autoencoder's three built on it: `reconstruct`, `encode`, `decode`.

It slices the inputs, moves each slice to the model's device (uint8 images become float32 in
[0, 1] there, floats become float32), runs the caller's function in eval mode without
gradients and at the requested precision, and concatenates the outputs as float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from . import _cpu
from .errors import DataError
from .precision import as_fp32, autocast


def to_model_input(batch: Any, device: torch.device) -> Tensor:
    """A batch (numpy or tensor) on `device`: uint8 images as float32 in [0, 1], any float as
    float32, other dtypes (indices, labels) unchanged."""
    if isinstance(batch, np.ndarray):
        batch = torch.as_tensor(np.ascontiguousarray(batch))
    batch = batch.to(device, non_blocking=True)
    if batch.dtype == torch.uint8:
        return batch.float().div_(255.0)
    return batch.float() if batch.is_floating_point() else batch


@torch.no_grad()
def batched(fn: Callable[..., Tensor | tuple[Tensor, ...]], *inputs: Any, model: nn.Module,
            batch_size: int = 512, precision: str = "fp32", on_device: bool = False
            ) -> Tensor | tuple[Tensor, ...]:
    """``fn(*batches)`` over the rows of `inputs` (arrays or tensors of equal length), in
    slices of `batch_size`, with `model` in eval mode (left so) on its own device.

    `fn` runs under autocast at `precision` (fp32 or bf16); its output, one tensor or a
    tuple, comes back as float32 and concatenated: on the CPU, or with ``on_device=True``
    where the model is. Empty inputs run `fn` once on an empty slice, so the result has the
    right trailing shape.
    """
    _cpu.configure()
    device = next(model.parameters()).device
    model.eval()
    n = len(inputs[0])
    if any(len(a) != n for a in inputs):
        raise ValueError(f"batched: inputs of different lengths {[len(a) for a in inputs]}")
    parts: list[tuple[Tensor, ...]] = []
    for start in range(0, n, batch_size) if n else [0]:
        xs = [to_model_input(a[start:start + batch_size], device) for a in inputs]
        with autocast(device, precision):
            out = fn(*xs)
        single = isinstance(out, Tensor)
        out = (out,) if single else tuple(out)
        parts.append(tuple(o.float() if on_device else o.float().cpu() for o in out))
    joined = tuple(torch.cat(col) for col in zip(*parts, strict=True))
    return joined[0] if single else joined


def reconstruct(model: nn.Module, images: np.ndarray, *, batch_size: int = 512,
                precision: str = "fp32") -> np.ndarray:
    """Reconstructions in [0, 1] (float32, N x C x H x W) of uint8 `images`, in eval mode on
    the model's device, the forward pass at `precision` (fp32 or bf16)."""
    return batched(lambda x: torch.sigmoid(as_fp32(model(x).x_logits)), images, model=model,
                   batch_size=batch_size, precision=precision).numpy()


def encode(model: nn.Module, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """Codes (float32, N x code size: conv code maps flattened) of uint8 `images`, in eval
    mode (a VAE gives its mean), on the model's device."""
    return batched(lambda x: model.encode(x).flatten(1), images, model=model,
                   batch_size=batch_size).numpy()


def code_shape(model: nn.Module) -> tuple[int, ...]:
    """Shape of one code, found by encoding a blank image (conv codes may be maps)."""
    blank = torch.zeros(1, *model.input_shape)
    return tuple(batched(model.encode, blank, model=model).shape[1:])


def decode(model: nn.Module, z: np.ndarray | Tensor, *, batch_size: int = 512) -> np.ndarray:
    """Images in [0, 1] (float32, N x C x H x W) decoded from flat codes (N, d)."""
    shape = code_shape(model)
    z = torch.as_tensor(np.asarray(z), dtype=torch.float32)
    if z.ndim != 2 or z.shape[1] != math.prod(shape):
        raise DataError(f"codes must be (N, {math.prod(shape)}) for this model; got "
                        f"{tuple(z.shape)}.")
    return batched(lambda c: torch.sigmoid(model.decode(c.view(-1, *shape))), z, model=model,
                   batch_size=batch_size).numpy()
