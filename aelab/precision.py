"""Numeric precision of training and inference: ``fp32``, ``bf16`` or ``auto``.

``bf16`` runs the model's forward pass under ``torch.autocast`` with bfloat16 (convolutions and
matrix products in bf16, reductions and normalisation in fp32 as autocast decides); the weights,
the optimizer state and the loss stay fp32 (the loss is computed on the outputs cast back to
fp32). It pays where the device multiplies bf16 natively: CPUs with AMX or AVX512-BF16, and CUDA
GPUs of compute capability 8 or more. Elsewhere it is emulated and slower than fp32.

``auto`` picks bf16 only where it pays, measured in ``benchmarks/train_throughput.py``
(``benchmarks/results/train_throughput.json``): on a CUDA GPU with native bf16, always; on a CPU
with native bf16, for convolutional models, and for dense models at batches of at least
`DENSE_BF16_MIN_BATCH` images (below that, the dense model's small matrix products gain less
from bf16 than autocast's casts cost). Else fp32.

Used by the training loop (``train.precision``) and by every apply command (``--precision``).
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import Any

from .errors import ConfigError

PRECISIONS = ("fp32", "bf16", "auto")
DENSE_BF16_MIN_BATCH = 256


@cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AMX or AVX512-BF16)."""
    from .provenance import _cpuinfo

    return bool(_cpuinfo()[1])


def native_bf16(device) -> bool:
    """Whether `device` (a torch.device) has native bf16 matrix units."""
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_capability(device)[0] >= 8
    if device.type == "cpu":
        return cpu_has_native_bf16()
    return False


def _convolutional(model) -> bool:
    from torch import nn

    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())


def resolve_precision(precision: str, device, model, *, batch_size: int | None = None,
                      key: str = "train.precision") -> str:
    """``"fp32"`` or ``"bf16"``: what `precision` means for `model` on `device`.

    `key` names the setting in the error raised for a value outside `PRECISIONS`, or for
    ``bf16`` on a CUDA device that cannot run it.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"{key} = {precision!r} is not one of {', '.join(PRECISIONS)}.")
    if precision == "fp32":
        return "fp32"
    if precision == "bf16":
        if device.type == "cuda" and not native_bf16(device):
            raise ConfigError(f"{key} = 'bf16' but the GPU {device} has no bf16 support "
                              "(compute capability < 8). Use 'fp32' or 'auto'.")
        return "bf16"
    if not native_bf16(device):
        return "fp32"
    if device.type == "cuda" or _convolutional(model):
        return "bf16"
    return "bf16" if batch_size is not None and batch_size >= DENSE_BF16_MIN_BATCH else "fp32"


def autocast(device, precision: str):
    """The context in which a forward pass runs at `precision` (``fp32`` or ``bf16``)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device.type, dtype=torch.bfloat16)


def as_fp32(value: Any) -> Any:
    """`value` (a tensor, or a tuple / NamedTuple of tensors and None) with every floating
    tensor in fp32, so that losses and metrics are computed in fp32 after a bf16 forward."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.float() if value.is_floating_point() and value.dtype != torch.float32 \
            else value
    if isinstance(value, tuple):
        items = [as_fp32(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return value
