"""The `Corruption` base class: ``x_in = corruption(x, generator)``."""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import ConfigError


class Corruption:
    """Base class. Subclasses store their parameters in ``__init__`` (checked there) and
    implement `apply`, which also returns the hidden region (bool (B, 1, H, W)) for
    corruptions that erase pixels, or None for noise that hides nothing. `deterministic`
    corruptions draw nothing from the generator."""

    deterministic = False

    def apply(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return self.apply(x, generator)[0]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def check_number(name: str, corruption: str, value, low: float, high: float | None = None,
                 integer: bool = False) -> float:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < low or \
            (high is not None and value > high):
        where = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(f"corruption {corruption!r}: {name} must be "
                          f"{'an integer' if integer else 'a number'} {where}; got {value!r}.")
    return value


def uniform(shape, generator: torch.Generator, device) -> Tensor:
    # Draw on the generator's device, then move: a CPU generator can feed a CUDA batch.
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def randint(high: int, shape, generator: torch.Generator, device) -> Tensor:
    return torch.randint(high, shape, generator=generator, device=generator.device).to(device)
