"""In-memory batching: slice a shuffled uint8 tensor and convert each batch to float.

A `torch.utils.data.DataLoader` over a `TensorDataset` indexes one sample at a time and then
collates, which at batch 32 costs more than the model's own step for small autoencoders. Here
a whole batch is one `index_select` on a uint8 tensor (1 byte a pixel) and one conversion.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

# Data up to this size is moved to the accelerator once; larger data goes batch by batch.
_MAX_DEVICE_BYTES = 1 << 30


class Batches:
    """Iterate over (x, y) mini-batches of a uint8 image array, float32 in [0, 1] on `device`.

    Parameters
    ----------
    images : array (N, C, H, W) uint8
    labels : array (N,) or None
    batch_size : int
    device : torch.device
    shuffle : bool
        Reshuffle every epoch with a generator seeded from (seed, epoch), so an epoch's
        order does not depend on what ran before it (a resumed run sees the same batches).
    drop_last : bool
    """

    def __init__(self, images: np.ndarray | Tensor, labels=None, *, batch_size: int,
                 device: torch.device | str = "cpu", shuffle: bool = False, seed: int = 0,
                 drop_last: bool = False):
        device = torch.device(device)
        x = torch.as_tensor(np.ascontiguousarray(images)) if isinstance(images, np.ndarray) \
            else images
        if x.dtype != torch.uint8:
            raise TypeError(f"Batches expects uint8 images; got {x.dtype}")
        on_device = x.numel() <= _MAX_DEVICE_BYTES or device.type == "cpu"
        self.x = x.to(device) if on_device else x
        self.y = None if labels is None else torch.as_tensor(np.asarray(labels)).to(self.x.device)
        self.batch_size, self.device = batch_size, device
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.x)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def n(self) -> int:
        return len(self.x)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor | None]]:
        n = len(self.x)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(n, generator=g).to(self.x.device)
        for i in range(len(self)):
            if self.shuffle:
                idx = order[i * self.batch_size:(i + 1) * self.batch_size]
                xb = self.x.index_select(0, idx)
                yb = None if self.y is None else self.y.index_select(0, idx)
            else:
                sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
                xb = self.x[sl]
                yb = None if self.y is None else self.y[sl]
            xb = xb.to(self.device, non_blocking=True).float().div_(255.0)
            yield xb, (None if yb is None else yb.to(self.device, non_blocking=True))
