"""ESPCN: single-image super-resolution with an efficient sub-pixel convolution (Shi et al.,
CVPR 2016, "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
Convolutional Neural Network").

The network works at low resolution and upscales only in its last layer: that layer outputs
``C * r**2`` channels and ``pixel_shuffle`` rearranges them into an image ``r`` times larger.
It needs no interpolated input, so it costs ``r**2`` times less than a network run on the
bicubic-upscaled image (SRCNN).

Upscalers live beside the autoencoders but behind their own registry, `UPSCALERS`, because
they map a (B, C, H, W) image to a (B, C, rH, rW) image instead of returning an `Output` of
the input's shape (the registry-wide autoencoder tests would not make sense for them). Build
one with `create_upscaler`, save and load it with `save_upscaler` / `load_upscaler`
(safetensors plus the JSON spec, never pickle).

The output is the image itself (values near [0, 1]), not logits: the paper's last layer is
linear and trained with MSE, and a sigmoid would squash the high-contrast edges that matter
most. Clamp to [0, 1] for display.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError, DataError
from ..registry import Registry, reject_unknown_options
from .io import fill_weights, read_weights, write_weights

UPSCALERS: Registry = Registry("upscaler")
METADATA_KEY = "aelab_upscaler"
_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
_FUSED_NAMES = {nn.Tanh: "tanh", nn.ReLU: "relu"}    # oneDNN post-op names
#: Colour handling: which channels the network sees. "y": the luminance of YCbCr (the paper's
#: choice; chroma is upscaled bicubically), "grey": one grey channel, "rgb": three channels.
COLOR_MODES = {"y": 1, "grey": 1, "rgb": 3}
_PADDINGS = {"reflect": "reflect", "replicate": "replicate", "zeros": "constant"}


@UPSCALERS.register("espcn")
class ESPCN(nn.Module):
    """conv k1 (features[0]) -> act -> conv k2 (features[1]) -> act -> conv k3 (C*r^2) ->
    pixel shuffle. The defaults are the paper's 5-3-3 layout with 64 and 32 channels and tanh.

    The convolutions are 'valid' (unpadded), as in the paper; `forward` first extends the
    image by `halo` pixels on each side (mirror padding by default), so the output is exactly
    r times the input and the image border looks like image, not like a black frame. Zero
    padding at every layer would hand border pixels an input the network never sees inside
    a photo: a model trained on interior crops then loses about a dB at the border, which the
    r-pixel crop of the benchmarks does not hide. Training on crops calls
    ``forward(x, pad=False)`` and compares with the HR crop's interior.

    Attributes
    ----------
    scale : int
        The upscaling factor r.
    halo : int
        Receptive-field radius in low-resolution pixels (4 for 5-3-3): an output pixel depends
        only on input pixels at most `halo` away from the one it sits over. Tiled inference
        needs tiles that overlap by more than twice this.
    padding : str
        How the border is extended: "reflect" (mirror, without repeating the edge pixel),
        "replicate" (repeat the edge pixel) or "zeros".
    """

    def __init__(self, scale: int = 3, color: str = "y", features: Sequence[int] = (64, 32),
                 kernels: Sequence[int] = (5, 3, 3), activation: str = "tanh",
                 padding: str = "reflect"):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ConfigError(f"espcn.scale must be 2, 3 or 4; got {scale!r}.")
        if color not in COLOR_MODES:
            raise ConfigError(f"espcn.color must be one of {', '.join(COLOR_MODES)}; "
                              f"got {color!r}.")
        if len(kernels) != len(features) + 1 or any(k < 1 or k % 2 == 0 for k in kernels):
            raise ConfigError(f"espcn.kernels must be {len(features) + 1} odd sizes (one per "
                              f"feature layer and one for the output layer); got {kernels!r}.")
        if activation not in _ACTIVATIONS:
            raise ConfigError(f"espcn.activation must be one of {', '.join(_ACTIVATIONS)}; "
                              f"got {activation!r}.")
        if padding not in _PADDINGS:
            raise ConfigError(f"espcn.padding must be one of {', '.join(_PADDINGS)}; "
                              f"got {padding!r}.")
        self.scale, self.color, self.padding = int(scale), color, padding
        self.channels = COLOR_MODES[color]
        self.halo = sum(k // 2 for k in kernels)
        layers: list[nn.Module] = []
        c = self.channels
        for width, k in zip(features, kernels[:-1], strict=False):
            layers += [nn.Conv2d(c, width, k), _ACTIVATIONS[activation]()]
            c = width
        self.body = nn.Sequential(*layers)
        # The layer the paper trains with a 10x smaller learning rate (see `last_layer`).
        self.head = nn.Conv2d(c, self.channels * self.scale**2, kernels[-1])

    @property
    def last_layer(self) -> nn.Module:
        return self.head

    def forward(self, x: Tensor, *, pad: bool = True) -> Tensor:
        """(B, C, H, W) -> (B, C, rH, rW); with ``pad=False``, (B, C, r(H-2h), r(W-2h)) for
        h = `halo`: only the pixels whose whole receptive field lies inside `x`."""
        self._check_channels(x)
        if pad:
            x = self.extend(x)
        elif min(x.shape[-2:]) <= 2 * self.halo:
            raise DataError(f"ESPCN with pad=False needs crops larger than {2 * self.halo} "
                            f"pixels on each side; got {tuple(x.shape[-2:])}.")
        return F.pixel_shuffle(self.head(self.body(x)), self.scale)

    def extend(self, x: Tensor) -> Tensor:
        """(..., H, W) -> (..., H + 2h, W + 2h): the border extension `forward` makes, done
        once for a whole image whose tiles then go through `infer`."""
        if self.padding == "reflect" and min(x.shape[-2:]) <= self.halo:
            raise DataError(f"ESPCN with mirror padding needs images larger than {self.halo} "
                            f"pixels on each side (its receptive-field radius); got "
                            f"{tuple(x.shape[-2:])}. Use padding='replicate' for tiny images.")
        return F.pad(x, (self.halo,) * 4, mode=_PADDINGS[self.padding])

    def infer(self, x: Tensor, *, bf16: bool = False, shuffle: bool = True) -> Tensor:
        """``forward(x, pad=False)`` for inference (no autograd), with the convolutions in
        bf16 when `bf16` (weights and accumulation as autocast does it; output bf16). With
        ``shuffle=False`` the last layer's (B, C r**2, H, W) output is returned as it is
        (`aelab.tiles.tiled_map` interleaves it as it blends tiles).

        On CPU each convolution and its activation run as one oneDNN kernel, the activation
        applied to the fp32 accumulator before the result is stored: in bf16 that is 2-3x
        faster than autocast, whose separate bf16 tanh and dtype conversions took over 60 % of
        the time (issue 24). Elsewhere (CUDA), the forward pass under autocast.
        """
        self._check_channels(x)
        if x.device.type == "cpu" and _fused_conv_available(bf16):
            out = self._infer_fused(x, torch.bfloat16 if bf16 else torch.float32)
        else:
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
                out = self.head(self.body(x.to(memory_format=torch.channels_last)))
        return F.pixel_shuffle(out, self.scale) if shuffle else out

    def _infer_fused(self, x: Tensor, dtype) -> Tensor:
        convs = [m for m in self.body if isinstance(m, nn.Conv2d)] + [self.head]
        acts = [_FUSED_NAMES[type(m)] for m in self.body if not isinstance(m, nn.Conv2d)]
        # .to(memory_format=...) gives canonical NHWC strides even for 1 channel, which
        # oneDNN needs to pick its fast kernels (.contiguous(...) keeps ambiguous ones).
        x = x.to(dtype=dtype, memory_format=torch.channels_last)
        for conv, act in zip(convs, [*acts, "none"], strict=True):
            w = conv.weight.detach().to(dtype=dtype, memory_format=torch.channels_last)
            b = None if conv.bias is None else conv.bias.detach().to(dtype)
            x = torch.ops.mkldnn._convolution_pointwise(x, w, b, [0, 0], [1, 1], [1, 1], 1,
                                                        act, [], "")
        return x

    def _check_channels(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise DataError(f"ESPCN ({self.color}) expects input of shape (B, {self.channels}, "
                            f"H, W); got {tuple(x.shape)}.")


def _fused_conv_available(bf16: bool) -> bool:
    """Whether this torch has oneDNN's fused convolution + activation (the CPU kernel torch's
    own compiler emits for conv -> tanh), in bf16 too when `bf16` (oneDNN needs AVX-512 for
    it)."""
    ops = torch.ops.mkldnn
    if not (torch.backends.mkldnn.is_available() and hasattr(ops, "_convolution_pointwise")):
        return False
    return not bf16 or bool(ops._is_mkldnn_bf16_supported())


def create_upscaler(name: str = "espcn", **kwargs: Any) -> nn.Module:
    """Build the upscaler registered as `name`; the keyword arguments are its options.

    Examples
    --------
    >>> model = create_upscaler("espcn", scale=3)
    >>> sum(p.numel() for p in model.parameters())  # 1*64*25+64 + 64*32*9+32 + 32*9*9+9
    22729
    """
    cls = UPSCALERS.get(name, key="upscaler")
    allowed = list(inspect.signature(cls).parameters)
    reject_unknown_options(kwargs, allowed, key="model", owner=f"upscaler {name!r}")
    model = cls(**kwargs)
    model.spec = {"name": name, "kwargs": {k: list(v) if isinstance(v, tuple) else v
                                           for k, v in kwargs.items()}}
    return model


def save_upscaler(model: nn.Module, path: str | os.PathLike) -> Path:
    """Write weights and spec to `path` (``.safetensors``) atomically."""
    return write_weights(model, model.spec, path, METADATA_KEY)


def load_upscaler(path: str | os.PathLike) -> nn.Module:
    """Rebuild an upscaler written by `save_upscaler`, on the CPU, in eval mode."""
    raw, tensors = read_weights(path, METADATA_KEY, what="upscaler",
                                writer="aelab.models.espcn.save_upscaler")
    spec = json.loads(raw)
    model = create_upscaler(spec["name"], **spec["kwargs"])
    return fill_weights(model, tensors, path, "the upscaler")
