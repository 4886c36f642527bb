"""Restore images with a trained (denoising) autoencoder: whole batches at the model's input
size (`restore_array`), or images of any size in overlapping tiles (`restore_image`).

A tiled restore cuts the image into tiles of the model's input size with a stride of
``tile - overlap``, restores a few tiles at a time and blends them back with a weight that
falls towards each tile's border (so seams do not show): the one tiler, `aelab.tiles`, that
`aelab upscale` uses too. Only the output accumulator grows with the image (one float32
array of its size); the model only ever sees `batch_size` tiles, so its memory does not
depend on the image size.
"""

from __future__ import annotations

import numpy as np
import torch

from . import _cpu
from .errors import DataError
from .infer import batched
from .models import Autoencoder
from .precision import as_fp32
from .tiles import tensor_of, tent_window, tiled_map


def restore_array(model: Autoencoder, x_in, *, batch_size: int = 512,
                  precision: str = "fp32") -> np.ndarray:
    """``sigmoid(model(x_in))`` for float images (N, C, H, W) in [0, 1] (numpy, or a tensor
    on any device), on the model's device at `precision`; float32 numpy."""
    return _restore_batches(model, x_in, batch_size, precision).cpu().numpy()


def _restore_batches(model, x_in, batch_size: int, precision: str):
    """The same as a float32 tensor on the model's device."""
    return batched(lambda x: torch.sigmoid(as_fp32(model(x).x_logits)), x_in, model=model,
                   batch_size=batch_size, precision=precision, on_device=True)


def restore_image(model: Autoencoder, image: np.ndarray, *, overlap: int | None = None,
                  batch_size: int = 64, device=None, precision: str = "fp32") -> np.ndarray:
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
    device : torch.device or str, optional
        Where the model runs (it is moved there; default: where it is). The result comes
        back to the CPU.
    precision : str
        ``"fp32"`` or ``"bf16"`` (autocast; see `aelab.precision`).

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
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    x = tensor_of(image, device)
    x = x.float() / 255.0 if image.dtype == np.uint8 else x.float()
    _, h, w = x.shape
    # Images smaller than a tile are padded (reflected, or edge-repeated when tiny) and cropped.
    ph, pw = max(th - h, 0), max(tw - w, 0)
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = torch.nn.functional.pad(x[None], (0, pw, 0, ph), mode=mode)[0]
    overlap_h = th // 2 if overlap is None else min(max(overlap, 0), th - 1)
    overlap_w = tw // 2 if overlap is None else min(max(overlap, 0), tw - 1)
    out = tiled_map(lambda tiles: _restore_batches(model, tiles, batch_size, precision), x,
                    tile=(th, tw), overlap=(overlap_h, overlap_w), window=tent_window,
                    batch_size=batch_size)
    return out[:, :h, :w].cpu().numpy()


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
