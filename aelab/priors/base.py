"""The prior registry and the `Prior` base class: a distribution over codes that samples with
a `torch.Generator` and draws itself.

A prior is what a divergence regularizer (`aelab.losses.divergence`) pulls the batch of codes
towards, after Santana, Emigh and Principe, "Information Theoretic-Learning Auto-Encoder"
(IJCNN 2016, https://arxiv.org/abs/1603.06653).
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from ..errors import ConfigError
from ..registry import Registry

PRIORS: Registry[type[Prior]] = Registry("prior")


class Prior:
    """A distribution over codes of size `dim`.

    Subclasses implement ``_sample(n, generator, device) -> (z, colour)``, where ``colour``
    (n,) is what the scatter plot colours by (the roll's position, the mixture component).
    """

    name: ClassVar[str] = "prior"
    dim: int

    def sample(self, n: int, *, generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> Tensor:
        """`n` samples, float32 of shape (n, dim), on `device` (the generator's by default).

        Randomness comes only from `generator` (a seeded ``torch.Generator`` on `device`);
        without one, a generator seeded with 0 is used, so sampling is always reproducible.
        """
        return self.sample_with_colour(n, generator=generator, device=device)[0]

    def sample_with_colour(self, n: int, *, generator: torch.Generator | None = None,
                           device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
        if generator is None:
            generator = torch.Generator(device=device or "cpu").manual_seed(0)
        device = torch.device(device) if device is not None else generator.device
        return self._sample(int(n), generator, device)

    def _sample(self, n: int, generator: torch.Generator,
                device: torch.device) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """The constructor's arguments, so ``create_prior(p.name, **p.options())`` rebuilds it."""
        return {k: getattr(self, k) for k in inspect.signature(type(self)).parameters}

    def plot(self, n: int = 2000, *, seed: int = 0, ax=None, title: str | None = None) -> Figure:
        """Scatter `n` samples (3-D axes for dim 3, the first two coordinates otherwise)."""
        z, colour = self.sample_with_colour(n, generator=torch.Generator().manual_seed(seed))
        return scatter_codes(z.numpy(), colour.numpy(), ax=ax,
                             title=title or f"prior: {self.name}", cmap=self.cmap)

    cmap: ClassVar[str] = "viridis"

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({args})"


def scatter_codes(z: np.ndarray, colour: np.ndarray | None = None, *, ax=None,
                  title: str = "", cmap: str = "tab10", size: float = 2.0) -> Figure:
    """Scatter codes (n, d): a 3-D plot for d = 3, the first two coordinates otherwise.

    Returns the figure that holds `ax` (a new one when `ax` is None).
    """
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ConfigError(f"codes to scatter must be (n, d) with d >= 2; got {z.shape}.")
    three_d = z.shape[1] == 3
    if ax is None:
        fig = Figure(figsize=(4.5, 4.0))
        ax = fig.add_subplot(projection="3d" if three_d else None)
    fig = ax.get_figure()
    coords = (z[:, 0], z[:, 1], z[:, 2]) if three_d and hasattr(ax, "zaxis") else (z[:, 0],
                                                                                  z[:, 1])
    ax.scatter(*coords, c=colour, s=size, cmap=cmap, linewidths=0)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    return fig


def create_prior(name: str, *, key: str = "loss.prior_options", **options: Any) -> Prior:
    """Build the prior registered as `name`; options are its constructor's arguments.

    Raises
    ------
    ConfigError
        For an unknown prior (naming the registered ones) or an option the prior does not
        take (naming the ones it does); the message starts with `key`.

    Examples
    --------
    >>> create_prior("gaussian", dim=2, scale=2.0).sample(4).shape
    torch.Size([4, 2])
    """
    cls = PRIORS.get(name, key="loss.prior")
    allowed = list(inspect.signature(cls).parameters)
    for option in options:
        if option not in allowed:
            raise ConfigError(f"{key}: prior {name!r} has no option {option!r}. "
                              f"Its options: {', '.join(allowed)}.")
    return cls(**options)


def check_number(key: str, value: Any, *, low: float | None = None, positive=False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or (positive and value <= 0) or (low is not None and value < low):
        what = "a positive number" if positive else (f"a number >= {low}" if low is not None
                                                      else "a number")
        raise ConfigError(f"loss.prior_options.{key} must be {what}; got {value!r}.")
    return float(value)


def check_count(key: str, value: Any, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"loss.prior_options.{key} must be an integer >= {low}; "
                          f"got {value!r}.")
    return value


def prior_option_names(name: str) -> list[str]:
    """The options (constructor arguments) of the prior registered as `name`."""
    return list(inspect.signature(PRIORS.get(name, key="loss.prior")).parameters)
