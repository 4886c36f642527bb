"""Restore images with a trained (denoising) autoencoder: whole batches at the model's input
size (`restore_array`), or images of any size in overlapping tiles (`restore_image`).

A tiled restore cuts the image into tiles of the model's input size with a stride of
``tile - overlap``, restores a few tiles at a time and blends them back with a weight that
falls towards each tile's border (so seams do not show). Only the output accumulators grow
with the image (two float32 arrays of its size); the model only ever sees `batch_size`
tiles, so its memory does not depend on the image size.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import _cpu
from .errors import DataError
from .models import Autoencoder


@torch.no_grad()
def restore_array(model: Autoencoder, x_in: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """``sigmoid(model(x_in))`` for float images (N, C, H, W) in [0, 1]; float32 numpy."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(x_in), batch_size):
        xb = torch.as_tensor(np.ascontiguousarray(x_in[start:start + batch_size]),
                             dtype=torch.float32, device=device)
        out.append(torch.sigmoid(model(xb).x_logits).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(np.shape(x_in), np.float32)


def _starts(size: int, tile: int, stride: int) -> list[int]:
    """Tile offsets covering [0, size): regular steps, the last one flush with the end."""
    if size <= tile:
        return [0]
    n = math.ceil((size - tile) / stride) + 1
    return sorted({min(i * stride, size - tile) for i in range(n)})


def _blend_weight(h: int, w: int) -> np.ndarray:
    """Separable tent weight (1 in the middle, small but > 0 at the border), (h, w)."""
    def ramp(n: int) -> np.ndarray:
        t = (np.arange(n) + 0.5) / n
        return np.minimum(t, 1 - t) * 2 + 1e-3
    return np.outer(ramp(h), ramp(w)).astype(np.float32)


def restore_image(model: Autoencoder, image: np.ndarray, *, overlap: int | None = None,
                  batch_size: int = 64) -> np.ndarray:
    """Restore one image of any size, (C, H, W) uint8 or float in [0, 1], tile by tile.

    Parameters
    ----------
    model : Autoencoder
        Its ``input_shape`` (C, h, w) sets the tile size; C must match the image.
    overlap : int, optional
        Pixels shared by neighbouring tiles (default: half the tile, which averages every
        pixel over about four tiles).
    batch_size : int
        Tiles restored at once; bounds the model's memory.

    Returns
    -------
    numpy.ndarray
        float32 (C, H, W) in [0, 1].

    Raises
    ------
    DataError
        If the image's channels differ from the model's.
    """
    _cpu.configure()
    c, th, tw = model.input_shape
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[0] != c:
        raise DataError(f"the model restores images with {c} channel(s) (input shape "
                        f"{tuple(model.input_shape)}); got an image of shape {image.shape}.")
    x = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    _, h, w = x.shape
    # Images smaller than a tile are padded (reflected, or edge-repeated when tiny) and cropped.
    ph, pw = max(th - h, 0), max(tw - w, 0)
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "edge"
        x = np.pad(x, ((0, 0), (0, ph), (0, pw)), mode=mode)
    hp, wp = x.shape[1:]
    overlap_h = th // 2 if overlap is None else min(max(overlap, 0), th - 1)
    overlap_w = tw // 2 if overlap is None else min(max(overlap, 0), tw - 1)
    corners = [(i, j) for i in _starts(hp, th, th - overlap_h)
               for j in _starts(wp, tw, tw - overlap_w)]
    acc = np.zeros((c, hp, wp), np.float32)
    norm = np.zeros((hp, wp), np.float32)
    weight = _blend_weight(th, tw)
    for start in range(0, len(corners), batch_size):
        chunk = corners[start:start + batch_size]
        tiles = np.stack([x[:, i:i + th, j:j + tw] for i, j in chunk])
        restored = restore_array(model, tiles, batch_size=batch_size)
        for (i, j), r in zip(chunk, restored, strict=True):
            acc[:, i:i + th, j:j + tw] += r * weight
            norm[i:i + th, j:j + tw] += weight
    return (acc / norm)[:, :h, :w]


def restoration_figure(rows, labels=("clean", "corrupted", "restored")):
    """A grid of images: one row per array in `rows` (each (N, C, H, W) in [0, 1]), labelled
    by `labels`, one column per image. Returns a matplotlib Figure."""
    from matplotlib.figure import Figure

    n = len(rows[0])
    fig = Figure(figsize=(0.8 * n + 1.2, 0.85 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (imgs, label) in enumerate(zip(rows, labels, strict=True)):
        for j in range(n):
            ax = axes[r][j]
            img = np.clip(imgs[j], 0, 1)
            if img.shape[0] == 1:
                ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(img.transpose(1, 2, 0))
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    return fig


def evaluate_restoration(cfg, model: Autoencoder, x_test: np.ndarray, figure_path=None,
                         *, seed_offset: int = 1) -> dict[str, float]:
    """Corrupt the test images as in training (seeded by ``train.seed + seed_offset``),
    restore them, and return `aelab.evaluate.restoration.restoration` metrics prefixed
    ``test_``; optionally save a clean/corrupted/restored figure of the first 10 images."""
    from .corruptions import build, corrupt_array
    from .evaluate.restoration import restoration
    from .report.figures import save_figure

    corruption = build(cfg.corruption)
    x_in, hidden = corrupt_array(corruption, x_test, seed=cfg.train.seed + seed_offset)
    x_rec = restore_array(model, x_in)
    x = x_test.astype(np.float32) / 255.0
    m = {f"test_{k}": v for k, v in restoration(x, x_in, x_rec, hidden).items()}
    if figure_path is not None:
        save_figure(restoration_figure([x[:10], x_in[:10], x_rec[:10]]), figure_path)
    return m
