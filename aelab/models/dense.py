"""Fully connected autoencoder: flatten -> MLP -> code -> mirrored MLP -> image logits."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from .base import MODELS, Autoencoder
from .blocks import (
    ACTIVATIONS,
    check_bool,
    check_choice,
    check_fraction,
    check_ints,
    make_activation,
    mlp,
)


@MODELS.register("dense")
class DenseAE(Autoencoder):
    """Fully connected autoencoder.

    The encoder is ``flatten -> [Linear -> (BN) -> act -> (dropout)] per hidden size ->
    Linear -> code_activation``; the decoder mirrors it and ends in a plain Linear to the
    pixels (logits).

    Parameters
    ----------
    input_shape : tuple of int
        (C, H, W) of one image.
    latent_dim : int, default 32
        Size of the code.
    hidden : list of int, default (512, 256)
        Encoder hidden sizes, from the image towards the code. ``()`` gives the one-layer
        autoencoder ``fc(latent_dim) -> fc(C*H*W)``.
    activation : str, default "relu"
        Activation of the hidden layers: one of relu, leaky_relu, elu, gelu, tanh, sigmoid,
        selu, silu, linear, identity.
    code_activation : str or None, default None
        Activation applied to the code (None or "linear": none), e.g. "relu" for the
        one-layer sparse autoencoder.
    batch_norm : bool, default False
        Batch norm after each hidden Linear.
    dropout : float, default 0.0
        Dropout after each hidden activation.
    decoder_hidden : list of int or None, default None
        Decoder hidden sizes, from the code towards the image; None mirrors ``hidden``.
    decoder_activation : str or None, default None
        Activation of the decoder's hidden layers; None uses ``activation``. (The ITL
        autoencoder of Santana et al. 2016 has a tanh encoder and a ReLU decoder.)

    Examples
    --------
    >>> model = DenseAE((1, 28, 28), latent_dim=30, hidden=(512, 256, 128))
    >>> import torch
    >>> model(torch.zeros(2, 1, 28, 28)).x_logits.shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, input_shape: tuple[int, int, int], latent_dim: int = 32,
                 hidden: Sequence[int] = (512, 256), activation: str = "relu",
                 code_activation: str | None = None, batch_norm: bool = False,
                 dropout: float = 0.0, decoder_hidden: Sequence[int] | None = None,
                 decoder_activation: str | None = None):
        super().__init__(input_shape, latent_dim)
        hidden = check_ints("hidden", hidden)
        decoder_hidden = (tuple(reversed(hidden)) if decoder_hidden is None
                          else check_ints("decoder_hidden", decoder_hidden))
        check_choice("activation", activation, ACTIVATIONS)
        decoder_activation = check_choice("decoder_activation", decoder_activation or activation,
                                          ACTIVATIONS)
        block = dict(batch_norm=check_bool("batch_norm", batch_norm),
                     dropout=check_fraction("dropout", dropout))
        n_pixels = math.prod(self.input_shape)

        # The code activation is left out when it is the identity, so a VAE (whose encoder
        # outputs mu and logvar) reuses this encoder as it is.
        check_choice("code_activation", code_activation, [None, *ACTIVATIONS])
        code_act = [] if code_activation in (None, "linear", "identity") else [
            make_activation(code_activation, "code_activation")]
        self.encoder = nn.Sequential(
            nn.Flatten(),
            *mlp([n_pixels, *hidden], activation, plain_last=False, **block),
            nn.Linear(hidden[-1] if hidden else n_pixels, self.code_width * self.latent_dim),
            *code_act,
        )
        self.decoder = nn.Sequential(
            *mlp([self.latent_dim, *decoder_hidden, n_pixels], decoder_activation, **block),
            nn.Unflatten(1, self.input_shape),
        )

    def encode(self, x: Tensor) -> Tensor:      # (B, C, H, W) -> (B, latent_dim)
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:      # (B, latent_dim) -> (B, C, H, W) logits
        return self.decoder(z)
