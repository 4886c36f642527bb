"""Generate images from a trained run folder and write them as PNG files plus a grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..apply import save_image
from ..errors import ConfigError, DataError
from ..report.figures import image_grid, save_figure
from . import samplers

SAMPLERS = ("prior", "class_gaussian", "perturb")


def generate_files(run_dir: str | Path, n: int, out_dir: str | Path, *, label: int | None = None,
                   sampler: str | None = None, scale: float = 1.0, seed: int = 0,
                   progress=None, device="cpu", precision: str = "fp32") -> list[Path]:
    """Decode `n` new images with the model of `run_dir`; write ``sample_000.png`` ... and
    ``grid.png`` to `out_dir`; return the paths (the grid last).

    Parameters
    ----------
    label : int, optional
        Generate this class: codes come from the run's training images of that class.
    sampler : {"prior", "class_gaussian", "perturb"}, optional
        Default: "class_gaussian" with a `label` (or for a plain autoencoder: a Gaussian
        fitted to all training codes), "prior" for a VAE without one.
    scale : float
        Std multiplier of "class_gaussian", noise scale (in code stds) of "perturb".
    device, precision
        Where the model runs (a torch.device or a name) and the forward passes' precision
        (fp32, bf16 or auto: see `aelab.precision`). Codes are drawn on the CPU, so the
        images are the same on every device up to the arithmetic's rounding.

    Raises
    ------
    ConfigError
        For n < 1, an unknown sampler, or "prior" on a model that has none.
    DataError
        For a class with no training images.
    """
    from ..precision import autocast, resolve_precision
    from ..runs import load_run

    if n < 1:
        raise ConfigError(f"--n must be at least 1; got {n}.")
    cfg, model = load_run(run_dir, device)
    device = next(model.parameters()).device
    precision = resolve_precision(precision, device, model, batch_size=n, key="--precision")
    with autocast(device, precision):
        images = _sample(cfg, model, n, label, sampler, scale, seed, progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        paths.append(out / f"sample_{i:03d}.png")
        save_image(img, paths[-1])
    nrow = int(np.ceil(np.sqrt(len(images))))
    paths.append(save_figure(image_grid(images, nrow=nrow), out / "grid.png"))
    return paths


def _sample(cfg, model, n: int, label: int | None, sampler: str | None, scale: float,
            seed: int, progress) -> np.ndarray:
    from ..runs import prepare_data

    is_vae = "mu" in model.provides
    sampler = sampler or ("prior" if is_vae and label is None else "class_gaussian")
    if sampler not in SAMPLERS:
        raise ConfigError(f"sampler {sampler!r} is not known. Allowed: {', '.join(SAMPLERS)}.")
    gen = torch.Generator().manual_seed(seed)
    if sampler == "prior":
        if label is not None:
            raise ConfigError("the prior sampler ignores classes; use --sampler class_gaussian "
                              "with --class.")
        images = samplers.prior(model, n, generator=gen)
    else:
        splits = prepare_data(cfg, progress=progress)
        x, y = splits.x_train, splits.y_train
        if label is not None:
            n_classes = len(splits.data.class_names)
            if not 0 <= label < n_classes or not (y == label).any():
                raise DataError(f"--class {label}: the run's training data has no images of "
                                f"that class (classes 0..{n_classes - 1}).")
            x = x[y == label]
        if sampler == "class_gaussian":
            images = samplers.class_gaussian(model, x, n, generator=gen, scale=scale)
        else:
            spread = samplers.code_spread(samplers.encode(model, x)) if len(x) > 1 else None
            order = torch.randperm(len(x), generator=gen).numpy()
            images = samplers.perturb(model, x[order], n, scale=scale, generator=gen,
                                      spread=spread)
    return images
