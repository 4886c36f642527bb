"""From photos to the planes an upscaler sees, and back: the colour handling of ESPCN.

``color="y"`` (the paper's choice): the network sees the luminance Y of YCbCr (studio range),
the chroma planes are upscaled bicubically, and the result is converted back to RGB.
``"grey"``: one grey plane (luma of RGB inputs). ``"rgb"``: the three RGB planes.
Planes are float32 (C, H, W) with values in [0, 255]; the network sees them divided by 255.

`upscale_image` (the path of ``aelab upscale``) does everything in torch on the chosen device:
the image goes in once as uint8 and comes back once as uint8; the network runs tile by tile
(`aelab.tiles`) in channels-last layout, under bf16 autocast with ``precision="bf16"``; the
chroma is upscaled with Pillow's bicubic weights (`aelab.sr.bicubic`) and converted back to RGB
band by band of rows into a preallocated output, so no full-size temporary but the luminance
accumulator is made.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from .. import _cpu
from ..tiles import ramp, tensor_of, tiled_map
from .color import _M, _M_INV, _OFFSET, as_rgb, luminance

_GREY = (0.299, 0.587, 0.114)
_BAND = 16                # low-resolution rows converted back to RGB at a time


def to_planes(image: np.ndarray, color: str) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) -> float32 (C, H, W) in [0, 255] for the colour mode."""
    if color == "y":                 # a grey image is its own luminance (see `luminance`)
        return luminance(image)[None]
    if color == "grey":
        if image.ndim == 2:
            return image.astype(np.float32)[None]
        return (image.astype(np.float32) @ np.array(_GREY, np.float32))[None]
    return np.moveaxis(as_rgb(image).astype(np.float32), 2, 0)


def _device(device):
    import torch

    return torch.device("cpu") if device is None else torch.device(device)


def upscale_tensor(model: nn.Module, lr, *, tile: int | None = None, overlap: int = 16,
                   batch_size: int = 8, precision: str = "fp32"):
    """A (C, h, w) float tensor in [0, 1] -> float32 (C, rh, rw) on the same device, tiled
    when `tile` is set (tiles of `tile` input pixels, halo included, overlapping by
    `overlap`; see `aelab.sr.tiled.check_tiling`). `model` must already be on that device."""
    import torch

    from .tiled import check_tiling

    if tile is not None:
        check_tiling(model, tile, overlap)
    model.eval()
    r, halo = int(model.scale), int(model.halo)
    x = model.extend(lr[None].float())[0]          # the model's own border, once per image

    @torch.no_grad()
    def run(tiles):
        return model.infer(tiles, bf16=precision == "bf16", shuffle=False)

    return tiled_map(run, x, tile=tile, overlap=overlap, window=ramp((overlap - 2 * halo) * r),
                     scale=r, margin=halo, batch_size=batch_size, shrink=True, subpixel=True)


def _prepare(model: nn.Module, device):
    """(device, model moved there). The weights keep their memory format: `ESPCN.infer` lays
    out what each convolution needs, so a model being trained is left as it was."""
    _cpu.configure()
    device = _device(device)
    return device, model.to(device)


def upscale_planes(model: nn.Module, planes: np.ndarray, *, tile: int | None = None,
                   overlap: int = 16, batch_size: int = 8, device=None,
                   precision: str = "fp32") -> np.ndarray:
    """Planes in [0, 255] -> upscaled planes in [0, 255] (clipped), tiled when `tile` is set;
    float32 numpy, computed on `device` at `precision` (``fp32`` or ``bf16``)."""
    import torch

    device, model = _prepare(model, device)
    lr = torch.as_tensor(np.asarray(planes, np.float32), device=device) / 255.0
    out = upscale_tensor(model, lr, tile=tile, overlap=overlap, batch_size=batch_size,
                         precision=precision)
    return out.mul_(255.0).clamp_(0.0, 255.0).cpu().numpy()


def upscale_image(model: nn.Module, image: np.ndarray, *, tile: int | None = 192,
                  overlap: int = 16, batch_size: int = 4, device=None,
                  precision: str = "fp32") -> np.ndarray:
    """Upscale a uint8 (H, W) or (H, W, 3) image by ``model.scale``; uint8, same layout.

    With ``color="y"`` only the luminance goes through the network; Cb and Cr are resized
    bicubically (Pillow's weights, in float). The model runs on `device` (default CPU) at
    `precision`; the result comes back to the CPU as numpy.
    """
    import torch

    device, model = _prepare(model, device)
    color = model.color
    x = tensor_of(image, device)
    kw = {"tile": tile, "overlap": overlap, "batch_size": batch_size, "precision": precision}
    if color == "rgb":
        lr = torch.movedim(_as_rgb(x).float(), -1, 0) / 255.0
        out = upscale_tensor(model, lr, **kw).mul_(255.0).clamp_(0.0, 255.0).round_()
        return torch.movedim(out, 0, -1).to(torch.uint8).cpu().numpy()
    if x.ndim == 2 or color == "grey":
        plane = x.float() if x.ndim == 2 else _weighted(x, _GREY, 0.0)
        out = upscale_tensor(model, plane[None] / 255.0, **kw)[0]
        return out.mul_(255.0).clamp_(0.0, 255.0).round_().to(torch.uint8).cpu().numpy()
    y = _weighted(x, _M[0], _OFFSET[0])[None] / 255.0              # (1, h, w)
    terms = _chroma_terms(x)
    y_hr = upscale_tensor(model, y, **kw)[0].clamp_(0.0, 1.0)
    return _to_rgb(y_hr, terms, int(model.scale)).cpu().numpy()


def _as_rgb(x):
    return x[..., None].expand(*x.shape, 3) if x.ndim == 2 else x


def _weighted(rgb, weights, offset: float):
    """``offset + sum_k weights[k] * rgb[..., k]`` for an (H, W, 3) tensor (uint8 or
    float); float32 (H, W)."""
    w = [float(v) for v in weights]
    out = rgb[..., 0] * w[0] + float(offset)
    out.add_(rgb[..., 1], alpha=w[1]).add_(rgb[..., 2], alpha=w[2])
    return out


def _chroma_terms(rgb):
    """(3, h, w): what Cb and Cr add to R, G and B, at low resolution, + 0.5 for rounding.

    RGB = M_inv (Y - 16, Cb - 128, Cr - 128), and bicubic resizing is linear and keeps
    constants, so the chroma part of each output channel can be resized instead of Cb and Cr
    (three planes instead of two, but then one multiply-add per output channel remains)."""
    import torch

    cb, cr = (_weighted(rgb, _M[k], _OFFSET[k] - 128.0) for k in (1, 2))
    terms = []
    for k in range(3):
        t = cb * float(_M_INV[k, 1]) + float(0.5 - 16.0 * _M_INV[k, 0])
        terms.append(t.add_(cr, alpha=float(_M_INV[k, 2])))
    return torch.stack(terms)


def _to_rgb(y_hr, terms, r: int):
    """Y (rh, rw) in [0, 1] and the chroma terms (3, h, w) -> uint8 (rh, rw, 3) RGB, band by
    band of `_BAND` low-resolution rows: a band's chroma is resized from the rows that reach
    it, so bands give exactly the rows of the whole image, and no full-size chroma is made.

    After the horizontal pass a band's terms are interleaved (rows, rw, 3), as the output
    is: the vertical pass treats the rw x 3 values of a row alike, and the band then takes
    three contiguous passes (add Y, clamp, convert) instead of three strided ones per
    channel."""
    import torch

    from .bicubic import band_rows, upscale_axis, upscale_band

    h, rw = terms.shape[1], y_hr.shape[1]
    out = torch.empty((*y_hr.shape, 3), dtype=torch.uint8, device=y_hr.device)
    gain = 255.0 * float(_M_INV[0, 0])             # the same for R, G and B
    for a in range(0, h, _BAND):
        b = min(a + _BAND, h)
        lo, hi = band_rows(h, a, b)
        cols = upscale_axis(terms[:, lo:hi], r, -1).permute(1, 2, 0)     # (rows, rw, 3)
        band = upscale_band(cols.reshape(hi - lo, rw * 3), r, a, b, h).view(-1, rw, 3)
        band.add_(y_hr[a * r:b * r, :, None], alpha=gain)
        # + 0.5 is in the terms: truncating the value clamped to [0, 255] rounds it (half up).
        out[a * r:b * r] = band.clamp_(0.0, 255.0)
    return out
