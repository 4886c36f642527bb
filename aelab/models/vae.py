"""Variational autoencoders (Kingma & Welling, https://arxiv.org/abs/1312.6114).

A VAE is the dense or conv autoencoder with a Gaussian code: the same encoder, with a head
twice as wide (``code_width = 2``) whose output splits into ``mu`` and ``logvar``. The KL
term lives in `aelab.losses`; this file only samples.

Randomness: in training mode `forward` samples ``z = mu + exp(logvar / 2) * eps`` with
``eps`` drawn from ``model.generator`` when it is set (a `torch.Generator` on the model's
device), otherwise from torch's default RNG, which ``torch.manual_seed`` seeds. The
``noise_seed`` option makes the model own that generator: it is created, seeded with
``noise_seed``, on the device of the first sample, so the noise is the same whatever else
draws from the global RNG (e.g. a run config's ``model.noise_seed``; the augmentation study
gives each generator VAE its own stream). The generator's state is not in a run's checkpoint:
a resumed (or extended) run starts the stream again from ``noise_seed``. Unset, the default,
it is left out of the model's spec, so models saved before the option existed read as before.
In eval mode ``z = mu``, so evaluation and features are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from ..errors import ConfigError
from .base import MODELS, Autoencoder, Output
from .blocks import is_int
from .conv import ConvAE
from .dense import DenseAE

# exp(20 / 2) ~ 2e4 and exp(-30 / 2) ~ 3e-7 bound the std: a wild logvar early in training
# would otherwise overflow exp() and turn the loss into inf/NaN.
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0


class GaussianCode:
    """Mixin for a model whose encoder head outputs (mu, logvar) stacked on dim 1."""

    provides: ClassVar[frozenset[str]] = Autoencoder.provides | {"mu", "logvar"}
    code_width: ClassVar[int] = 2
    spec_omits_defaults: ClassVar[frozenset[str]] = frozenset({"noise_seed"})
    generator: torch.Generator | None = None    # set on an instance to own the randomness
    noise_seed: int | None = None               # the seed of a generator made on first use

    training: bool

    def gaussian(self, head: Tensor) -> tuple[Tensor, Tensor]:
        """Split a head output (B, 2 * latent_dim, ...) into mu and clamped logvar."""
        mu, logvar = head.chunk(2, dim=1)
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    def sample(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """The reparameterised sample in training mode (gradients reach mu and logvar); mu
        in eval mode."""
        if not self.training:
            return mu
        if self.generator is None and self.noise_seed is not None:
            self.generator = torch.Generator(device=mu.device).manual_seed(self.noise_seed)
        eps = torch.randn(mu.shape, generator=self.generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps


def _check_noise_seed(value) -> int | None:
    if value is None or (is_int(value) and value >= 0):
        return None if value is None else int(value)
    raise ConfigError(f"model.noise_seed must be an integer >= 0 (the seed of the model's own "
                      f"sampling noise) or unset (noise from torch's global RNG); got "
                      f"{value!r}.")


@MODELS.register("vae_dense")
class DenseVAE(GaussianCode, DenseAE):
    """Fully connected VAE: `DenseAE` with a Gaussian code.

    Parameters are those of `DenseAE` without ``code_activation`` (the code is a sample),
    and ``noise_seed``. `encode` returns mu. See the module docstring for where the
    randomness comes from.

    Examples
    --------
    >>> import torch
    >>> model = DenseVAE((1, 8, 8), latent_dim=4, hidden=(16,)).eval()
    >>> out = model(torch.zeros(3, 1, 8, 8))
    >>> torch.equal(out.z, out.mu), tuple(out.logvar.shape)
    (True, (3, 4))
    """

    def __init__(self, input_shape: tuple[int, int, int], latent_dim: int = 32,
                 hidden: Sequence[int] = (512, 256), activation: str = "relu",
                 batch_norm: bool = False, dropout: float = 0.0,
                 decoder_hidden: Sequence[int] | None = None, noise_seed: int | None = None):
        super().__init__(input_shape, latent_dim, hidden, activation, code_activation=None,
                         batch_norm=batch_norm, dropout=dropout, decoder_hidden=decoder_hidden)
        self.noise_seed = _check_noise_seed(noise_seed)

    def encode(self, x: Tensor) -> Tensor:      # (B, C, H, W) -> mu (B, latent_dim)
        return self.gaussian(self.encoder(x))[0]

    def forward(self, x: Tensor) -> Output:
        mu, logvar = self.gaussian(self.encoder(x))
        z = self.sample(mu, logvar)
        return Output(z=z, x_logits=self.decode(z), mu=mu, logvar=logvar)


@MODELS.register("vae_conv")
class ConvVAE(GaussianCode, ConvAE):
    """Convolutional VAE: `ConvAE` with a Gaussian code.

    Parameters are those of `ConvAE`, and ``noise_seed`` (see the module docstring).
    Without a bottleneck, mu and logvar are maps of shape (B, latent_dim, h_K, w_K). With
    upsample="unpool" the decoder also sees the encoder's pooling indices in `forward`
    (information that bypasses the Gaussian code); `decode(z)` alone uses fixed top-left
    indices.

    Examples
    --------
    >>> import torch
    >>> model = ConvVAE((1, 8, 8), latent_dim=4, channels=(8,)).eval()
    >>> tuple(model(torch.zeros(2, 1, 8, 8)).mu.shape)
    (2, 4)
    """

    def __init__(self, input_shape: tuple[int, int, int], latent_dim: int = 16,
                 channels: Sequence[int] = (32, 64), kernel_size: int = 3,
                 downsample: str = "maxpool", upsample: str = "nearest",
                 batch_norm: bool = False, activation: str = "relu",
                 bottleneck: str | None = "dense", noise_seed: int | None = None):
        super().__init__(input_shape, latent_dim, channels, kernel_size, downsample, upsample,
                         batch_norm, activation, bottleneck)
        self.noise_seed = _check_noise_seed(noise_seed)

    def encode(self, x: Tensor) -> Tensor:      # (B, C, H, W) -> mu
        h, _ = self.encoder(x)
        return self.gaussian(self.to_code(h))[0]

    def forward(self, x: Tensor) -> Output:
        h, indices = self.encoder(x)
        mu, logvar = self.gaussian(self.to_code(h))
        z = self.sample(mu, logvar)
        return Output(z=z, x_logits=self.decode(z, indices), mu=mu, logvar=logvar)
