"""Building blocks shared by the model families: activations by name, MLPs, conv blocks, and
the checks that turn a bad constructor value into a ConfigError naming ``model.<key>``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from ..errors import ConfigError

# Names a config may use for an activation. Fresh modules are built on each call, so no
# module is shared between layers (and each shows up in `summary`).
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "selu": nn.SELU,
    "silu": nn.SiLU,
    "linear": nn.Identity,
    "identity": nn.Identity,
}


def make_activation(name: str, key: str = "activation") -> nn.Module:
    """A new activation module for `name`; `key` is the option it came from, for errors."""
    check_choice(key, name, ACTIVATIONS)
    return ACTIVATIONS[name]()


def mlp(sizes: Sequence[int], activation: str, *, batch_norm: bool = False,
        dropout: float = 0.0, plain_last: bool = True) -> nn.Sequential:
    """Linear layers through `sizes`, each followed by (batch norm), activation, (dropout).

    With ``plain_last`` the last Linear has nothing after it (an output layer); otherwise
    every Linear is followed by the block (a trunk). ``mlp([n])`` is an empty Sequential.
    """
    layers: list[nn.Module] = []
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    for i, (n_in, n_out) in enumerate(pairs):
        if plain_last and i == len(pairs) - 1:
            layers.append(nn.Linear(n_in, n_out))
            break
        # The bias is redundant before batch norm, which subtracts the mean anyway.
        layers.append(nn.Linear(n_in, n_out, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(make_activation(activation))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def conv_block(c_in: int, c_out: int, kernel_size: int, *, stride: int = 1,
               batch_norm: bool = False, activation: str = "relu") -> nn.Sequential:
    """Conv ("same" padding for odd kernels) -> (batch norm) -> activation.

    With stride 2 an (H, W) map becomes (ceil(H/2), ceil(W/2)).
    """
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel_size, stride=stride,
                                         padding=kernel_size // 2, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(make_activation(activation))
    return nn.Sequential(*layers)


def halved_sizes(height: int, width: int, n_stages: int) -> list[tuple[int, int]]:
    """Spatial sizes before each stage and after the last: [(H, W), (ceil(H/2), ...), ...].

    Odd sizes round up (ceil-mode pooling, stride-2 convs with "same" padding), so no row
    or column is dropped; the decoder crops back to these sizes. A stage needs at least
    2 pixels on each side to halve.
    """
    sizes = [(height, width)]
    for stage in range(n_stages):
        h, w = sizes[-1]
        if min(h, w) < 2:
            trail = " -> ".join(f"{a}x{b}" for a, b in sizes)
            raise ConfigError(
                f"model.channels has {n_stages} stages, each halving the image, but an input "
                f"of {height}x{width} is down to {trail} after {stage}. Use at most {stage} "
                "stages (fewer entries in channels) for this image size."
            )
        sizes.append((math.ceil(h / 2), math.ceil(w / 2)))
    return sizes


# --- checks on constructor values: each names the key, the value and what is allowed ---

def is_int(value: Any) -> bool:
    """True for Python and numpy integers, not for bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(key: str, value: Any, low: int = 1) -> int:
    if not is_int(value) or value < low:
        raise ConfigError(f"model.{key} must be an integer >= {low}; got {value!r}.")
    return int(value)


def check_ints(key: str, value: Any, *, allow_empty: bool = True) -> tuple[int, ...]:
    """A list or tuple of positive ints (JSON and TOML give lists) as a tuple."""
    ok = isinstance(value, list | tuple) and all(is_int(v) and v >= 1 for v in value)
    if not ok or (not allow_empty and len(value) == 0):
        what = "a non-empty list" if not allow_empty else "a list"
        raise ConfigError(f"model.{key} must be {what} of positive integers "
                          f"(e.g. [64, 32]); got {value!r}.")
    return tuple(int(v) for v in value)


def check_choice(key: str, value: Any, choices: Sequence[Any] | dict[str, Any]) -> Any:
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"model.{key}: unknown value {value!r}. Allowed: {allowed}.")
    return value


def check_bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"model.{key} must be true or false; got {value!r}.")
    return value


def check_fraction(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ConfigError(f"model.{key} must be a number in [0, 1); got {value!r}.")
    return float(value)
