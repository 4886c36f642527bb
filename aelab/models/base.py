"""The model registry, the `Output` of every model, and the `Autoencoder` base class."""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from torch import Tensor, nn

from ..errors import ConfigError
from ..registry import Registry
from .blocks import check_int, is_int

MODELS: Registry[type[Autoencoder]] = Registry("model")


class Output(NamedTuple):
    """What `Autoencoder.forward` returns.

    Attributes
    ----------
    z : Tensor
        The code: (B, latent_dim), or (B, latent_dim, h, w) for a conv model without a
        dense bottleneck. For a VAE, a sample in training mode and ``mu`` in eval mode.
    x_logits : Tensor
        Reconstruction logits, (B, C, H, W). Apply ``sigmoid`` to get images in [0, 1].
    mu, logvar : Tensor or None
        Mean and log-variance of the Gaussian code (VAEs only), shaped like ``z``.
    """

    z: Tensor
    x_logits: Tensor
    mu: Tensor | None = None
    logvar: Tensor | None = None


class Autoencoder(nn.Module):
    """Base class of every model: `encode`, `decode` and a `forward` returning `Output`.

    Subclasses are registered with ``@MODELS.register("name")`` and take only plain values
    (ints, lists of ints, strings, bools, floats) as keyword arguments, so a model config is
    exactly the constructor's keyword arguments.

    Parameters
    ----------
    input_shape : tuple of int
        (C, H, W) of one input image; a list is accepted.
    latent_dim : int
        Size of the code (channels of the code map for conv models without bottleneck).

    Attributes
    ----------
    provides : frozenset of str
        The `Output` fields this model fills in. Losses check it when an objective is
        built, so a KL term on a deterministic model fails before training starts.
    code_width : int
        How many latent_dim-sized tensors the encoder head outputs: 1 for a plain code,
        2 for a Gaussian code (mu and logvar).
    spec_omits_defaults : frozenset of str
        Options left out of ``model.spec`` (and so of saved models) while they hold their
        default: options added after models were saved without them, whose default keeps
        the old behaviour.
    """

    provides: ClassVar[frozenset[str]] = frozenset({"z", "x_logits"})
    code_width: ClassVar[int] = 1
    spec_omits_defaults: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, input_shape: tuple[int, int, int], latent_dim: int):
        super().__init__()
        self.input_shape = check_input_shape(input_shape)
        self.latent_dim = check_int("latent_dim", latent_dim)

    def encode(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> code z (deterministic: a VAE returns mu)."""
        raise NotImplementedError

    def decode(self, z: Tensor) -> Tensor:
        """Code z -> (B, C, H, W) logits."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Output:
        z = self.encode(x)
        return Output(z=z, x_logits=self.decode(z))


def check_input_shape(input_shape: Any) -> tuple[int, int, int]:
    ok = isinstance(input_shape, list | tuple) and len(input_shape) == 3 and all(
        is_int(v) and v >= 1 for v in input_shape)
    if not ok:
        raise ConfigError(f"model input_shape must be (channels, height, width) with positive "
                          f"integers, e.g. (1, 28, 28); got {input_shape!r}.")
    return tuple(int(v) for v in input_shape)
