"""Apply a trained run to a user's image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DataError
from .files import atomic_write, load_image

#: Pillow modes read as one grey channel.
GREY_MODES = ("L", "LA", "1", "I", "I;16", "F")


def read_image(path: str | Path, channels: int | None = None,
               size: tuple[int, int] | None = None) -> np.ndarray:
    """Read an image file as uint8 (C, H, W): the one image reader of `aelab restore`,
    `reconstruct`, `upscale` and the super-resolution image sets.

    `channels` 1 (grey) or 3 (RGB); None keeps the file's own: 1 for a grey file (see
    `GREY_MODES`), else 3 (alpha dropped). With `size` = (H, W), the image is resized
    (bicubic). A grey model given a colour file is an error rather than a silent conversion
    (colour information would be lost). Files are opened by `aelab.files.load_image`: a
    missing, empty, truncated or oversized (decompression-bomb) file is a `DataError` naming it.
    """
    from PIL import Image

    im = load_image(path)
    grey_mode = im.mode in GREY_MODES
    if channels is None:
        channels = 1 if grey_mode else 3
    if channels == 1 and not grey_mode and _is_colour(im):
        raise DataError(f"{str(path)!r} is a colour image but the model is greyscale "
                        "(1 channel). Convert the file to greyscale first, or use a "
                        "model trained on RGB images.")
    im = im.convert("L" if channels == 1 else "RGB")
    if size is not None and im.size != (size[1], size[0]):
        im = im.resize((size[1], size[0]), Image.Resampling.BICUBIC)
    arr = np.asarray(im, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def channels_last(image: np.ndarray) -> np.ndarray:
    """A (C, H, W) image as (H, W) for one channel, else (H, W, C) (contiguous)."""
    return np.ascontiguousarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))


def _is_colour(im) -> bool:
    """True when an RGB(A) image's channels differ somewhere (grey stored as RGB is fine)."""
    rgb = np.asarray(im.convert("RGB"), dtype=np.int16)
    return bool(np.abs(rgb[..., 0] - rgb[..., 1]).max() > 2 or
                np.abs(rgb[..., 1] - rgb[..., 2]).max() > 2)


def save_image(array: np.ndarray, path: str | Path) -> None:
    """Write a (C, H, W) image, uint8 or float in [0, 1], as PNG (atomically)."""
    a = np.asarray(array)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    save_png(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0), path)


def save_png(pixels: np.ndarray, path: str | Path) -> None:
    """Write uint8 (H, W) or (H, W, C) pixels as a PNG file, atomically."""
    from PIL import Image

    atomic_write(path, lambda tmp: Image.fromarray(pixels).save(tmp, format="PNG"))


def output_paths(images: list[str | Path], out_dir: str | Path, template: str) -> list[Path]:
    """One output file per input, ``out_dir / template.format(stem=...)``.

    Raises
    ------
    DataError
        Before anything is written, if two inputs would write the same file (same stem).
    """
    seen: dict[Path, Path] = {}
    for path in map(Path, images):
        target = Path(out_dir) / template.format(stem=path.stem)
        if target in seen:
            raise DataError(f"{str(seen[target])!r} and {str(path)!r} would both write "
                            f"{str(target)!r}; rename one of them or process them separately.")
        seen[target] = path
    return list(seen)


def reconstruct_files(run_dir: str | Path, images: list[str | Path], out_dir: str | Path, *,
                      device="cpu", precision: str = "fp32") -> list[Path]:
    """Reconstruct image files with a trained run, resized to the model's input size, on
    `device` at `precision` (fp32, bf16 or auto: see `aelab.precision`).

    Writes ``<stem>-input.png`` (the resized input) and ``<stem>-reconstruction.png`` per
    file. Every file is read and checked first, so a bad file means nothing is written.
    """
    from .infer import reconstruct
    from .precision import resolve_precision
    from .runs import load_run

    _, model = load_run(run_dir, device)
    device = next(model.parameters()).device
    precision = resolve_precision(precision, device, model, batch_size=len(images),
                                  key="--precision")
    c, h, w = model.input_shape
    targets = {tag: output_paths(images, out_dir, f"{{stem}}-{tag}.png")
               for tag in ("input", "reconstruction")}
    x = np.stack([read_image(p, c, (h, w)) for p in images])
    x_rec = reconstruct(model, x, precision=precision)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    written = []
    for i, (xi, ri) in enumerate(zip(x, x_rec, strict=True)):
        for tag, img in (("input", xi), ("reconstruction", ri)):
            save_image(img, targets[tag][i])
            written.append(targets[tag][i])
    return written
