"""Convolutional autoencoder: conv stages that halve the image, a code, mirrored up-stages.

Odd sizes are handled rather than rejected: each down-stage maps (H, W) to
(ceil(H/2), ceil(W/2)) (ceil-mode pooling, or a stride-2 conv with "same" padding), and each
up-stage doubles and crops back to the encoder's size at that depth. So 28x28 with three
stages goes 28 -> 14 -> 7 -> 4 -> 8 (cropped to 7) -> 14 -> 28.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .base import MODELS, Autoencoder, Output
from .blocks import (
    ACTIVATIONS,
    check_bool,
    check_choice,
    check_int,
    check_ints,
    conv_block,
    halved_sizes,
    make_activation,
)

DOWNSAMPLE = ("maxpool", "stride")
UPSAMPLE = ("nearest", "transposed", "unpool")
BOTTLENECK = ("dense", "none", None)

Indices = list[Tensor | None]   # max-pool indices per encoder stage (None: strided conv)


class DownStage(nn.Module):
    """Conv block, then halve: a 2x2 max-pool (keeping its indices) or the conv's stride 2."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, downsample: str,
                 batch_norm: bool, activation: str):
        super().__init__()
        stride = 2 if downsample == "stride" else 1
        self.block = conv_block(c_in, c_out, kernel_size, stride=stride,
                                batch_norm=batch_norm, activation=activation)
        # ceil_mode keeps the last row/column of an odd-sized map, as the strided conv does.
        self.pool = (nn.MaxPool2d(2, ceil_mode=True, return_indices=True)
                     if downsample == "maxpool" else None)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        x = self.block(x)                   # (B, c_out, H, W), or halved when strided
        if self.pool is None:
            return x, None
        return self.pool(x)                 # (B, c_out, ceil(H/2), ceil(W/2)), indices


def top_left_indices(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Unpooling indices that put each value of `x` at the top-left of its 2x2 window.

    Used when `decode` gets no encoder indices (e.g. decoding sampled codes): unpooling
    then inserts zeros around each value, like a stride-2 "bed of nails" upsampling, and
    the conv that follows fills them in.
    """
    h_in, w_in = x.shape[-2:]
    rows = torch.arange(h_in, device=x.device) * 2
    cols = torch.arange(w_in, device=x.device) * 2
    flat = rows[:, None] * size[1] + cols[None, :]          # index into the (H, W) output
    return flat.expand_as(x).contiguous()


class UpStage(nn.Module):
    """Double the size and crop to `size` (the encoder's size at this depth), then conv."""

    def __init__(self, c_in: int, c_out: int, size: tuple[int, int], kernel_size: int,
                 upsample: str, batch_norm: bool, activation: str):
        super().__init__()
        self.size = size
        self.upsample = upsample
        if upsample == "transposed":
            # Output exactly 2n for odd k: (n - 1) * 2 - 2 * (k // 2) + k + 1 = 2n.
            self.up = nn.ConvTranspose2d(c_in, c_out, kernel_size, stride=2,
                                         padding=kernel_size // 2, output_padding=1,
                                         bias=not batch_norm)
            self.block = nn.Sequential(*([nn.BatchNorm2d(c_out)] if batch_norm else []),
                                       make_activation(activation))
        else:
            self.up = (nn.MaxUnpool2d(2) if upsample == "unpool"
                       else nn.Upsample(scale_factor=2, mode="nearest"))
            self.block = conv_block(c_in, c_out, kernel_size, batch_norm=batch_norm,
                                    activation=activation)

    def forward(self, x: Tensor, indices: Tensor | None = None) -> Tensor:
        h, w = self.size
        if self.upsample == "unpool":
            if indices is None:
                indices = top_left_indices(x, self.size)
            x = self.up(x, indices, output_size=self.size)
        else:
            x = self.up(x)[..., :h, :w]     # crop: odd sizes were rounded up on the way down
        return self.block(x)


class ConvEncoder(nn.Module):
    """(B, C, H, W) -> ((B, channels[-1], h_K, w_K), max-pool indices of each stage)."""

    def __init__(self, in_channels: int, channels: Sequence[int], kernel_size: int,
                 downsample: str, batch_norm: bool, activation: str):
        super().__init__()
        self.stages = nn.ModuleList(
            DownStage(c_in, c_out, kernel_size, downsample, batch_norm, activation)
            for c_in, c_out in pairwise((in_channels, *channels)))

    def forward(self, x: Tensor) -> tuple[Tensor, Indices]:
        indices: Indices = []
        for stage in self.stages:
            x, idx = stage(x)
            indices.append(idx)
        return x, indices


class ConvDecoder(nn.Module):
    """(B, channels[-1], h_K, w_K) -> (B, out_channels, H, W) logits, mirroring the encoder.

    Up-stage k maps channels[k] to channels[k-1] (the last keeps channels[0]); a final conv
    to `out_channels` with no activation gives the logits.
    """

    def __init__(self, out_channels: int, channels: Sequence[int],
                 sizes: Sequence[tuple[int, int]], kernel_size: int, upsample: str,
                 batch_norm: bool, activation: str):
        super().__init__()
        c_ins = channels[::-1]
        c_outs = (*channels[-2::-1], channels[0])
        targets = sizes[-2::-1]              # the encoder's sizes, deepest first
        self.stages = nn.ModuleList(
            UpStage(c_in, c_out, size, kernel_size, upsample, batch_norm, activation)
            for c_in, c_out, size in zip(c_ins, c_outs, targets, strict=True))
        self.head = nn.Conv2d(channels[0], out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, h: Tensor, indices: Indices | None = None) -> Tensor:
        indices = [None] * len(self.stages) if indices is None else indices
        for stage, idx in zip(self.stages, reversed(indices), strict=True):
            h = stage(h, idx)
        return self.head(h)


@MODELS.register("conv")
class ConvAE(Autoencoder):
    """Convolutional autoencoder.

    Each encoder stage is conv ("same" padding) -> (BN) -> act -> halve (2x2 max-pool, or
    the conv itself with stride 2). The decoder mirrors it: double (nearest upsample + conv,
    transposed conv with stride 2, or max-unpool + conv) -> (BN) -> act, then a final conv
    to C channels with no activation (logits).

    Parameters
    ----------
    input_shape : tuple of int
        (C, H, W) of one image. Odd sizes are fine (see the module docstring); each side
        needs at least 2 pixels before every stage.
    latent_dim : int, default 16
        Size of the code vector, or channels of the code map without bottleneck.
    channels : list of int, default (32, 64)
        Output channels of each encoder stage; one stage per entry.
    kernel_size : int, default 3
        Odd kernel size of every conv.
    downsample : {"maxpool", "stride"}, default "maxpool"
    upsample : {"nearest", "transposed", "unpool"}, default "nearest"
        "unpool" needs downsample="maxpool": `forward` hands the encoder's pooling indices
        to the decoder. `decode(z)` alone (no indices, e.g. for sampled codes) puts each
        value at the top-left of its 2x2 window, with zeros elsewhere.
    batch_norm : bool, default False
        Batch norm after each conv (the convs then have no bias).
    activation : str, default "relu"
        Activation after each conv except the last.
    bottleneck : {"dense", "none", None}, default "dense"
        "dense": flatten -> Linear -> z of shape (B, latent_dim), and Linear -> act back to
        the feature map. "none"/None: z is the last feature map mapped by a 1x1 conv to
        latent_dim channels, (B, latent_dim, h_K, w_K), and a 1x1 conv -> act back.

    Raises
    ------
    ConfigError
        For a bad value, unpool with stride, or too many stages for the image size.

    Examples
    --------
    >>> import torch
    >>> model = ConvAE((1, 28, 28), latent_dim=16, channels=(32, 64))
    >>> out = model(torch.zeros(2, 1, 28, 28))
    >>> tuple(out.z.shape), tuple(out.x_logits.shape)
    ((2, 16), (2, 1, 28, 28))
    """

    def __init__(self, input_shape: tuple[int, int, int], latent_dim: int = 16,
                 channels: Sequence[int] = (32, 64), kernel_size: int = 3,
                 downsample: str = "maxpool", upsample: str = "nearest",
                 batch_norm: bool = False, activation: str = "relu",
                 bottleneck: str | None = "dense"):
        super().__init__(input_shape, latent_dim)
        channels = check_ints("channels", channels, allow_empty=False)
        if check_int("kernel_size", kernel_size) % 2 == 0:
            raise ConfigError(f"model.kernel_size must be odd (1, 3, 5, ...) so that 'same' "
                              f"padding is symmetric; got {kernel_size!r}.")
        check_choice("downsample", downsample, DOWNSAMPLE)
        check_choice("upsample", upsample, UPSAMPLE)
        check_choice("bottleneck", bottleneck, BOTTLENECK)
        check_choice("activation", activation, ACTIVATIONS)
        if upsample == "unpool" and downsample != "maxpool":
            raise ConfigError(
                f"model.upsample='unpool' needs the encoder's max-pooling indices, but "
                f"model.downsample={downsample!r}. Use downsample='maxpool', or upsample="
                "'nearest' or 'transposed'.")
        block = dict(kernel_size=kernel_size, batch_norm=check_bool("batch_norm", batch_norm),
                     activation=activation)
        c, height, width = self.input_shape
        sizes = halved_sizes(height, width, len(channels))

        self.encoder = ConvEncoder(c, channels, downsample=downsample, **block)
        code_out = self.code_width * self.latent_dim
        c_k, (h_k, w_k) = channels[-1], sizes[-1]
        if bottleneck == "dense":
            self.to_code = nn.Sequential(nn.Flatten(), nn.Linear(c_k * h_k * w_k, code_out))
            self.from_code = nn.Sequential(nn.Linear(self.latent_dim, c_k * h_k * w_k),
                                           make_activation(activation),
                                           nn.Unflatten(1, (c_k, h_k, w_k)))
        else:
            # 1x1 convs mix channels only, so each code pixel still describes its own
            # receptive field: a spatial code rather than a global one.
            self.to_code = nn.Conv2d(c_k, code_out, 1)
            self.from_code = nn.Sequential(nn.Conv2d(self.latent_dim, c_k, 1),
                                           make_activation(activation))
        self.decoder = ConvDecoder(c, channels, sizes, upsample=upsample, **block)

    def encode(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, latent_dim), or (B, latent_dim, h_K, w_K) without bottleneck
        h, _ = self.encoder(x)
        return self.to_code(h)

    def decode(self, z: Tensor, indices: Indices | None = None) -> Tensor:
        """Code -> (B, C, H, W) logits; `indices` are the encoder's max-pool indices, used
        only with upsample="unpool" (None: top-left of each window)."""
        return self.decoder(self.from_code(z), indices)

    def forward(self, x: Tensor) -> Output:
        h, indices = self.encoder(x)
        z = self.to_code(h)
        return Output(z=z, x_logits=self.decode(z, indices))
