"""Study `vae`: dense VAEs on binarized MNIST across latent sizes (Kingma & Welling,
https://arxiv.org/abs/1312.6114), scored by the test ELBO and the importance-weighted bound
on the test log-likelihood (Burda et al., https://arxiv.org/abs/1509.00519); with
reconstructions, samples from the prior, and, for the 2-D latent, the learned manifold:
images decoded on a grid of latent points through the inverse Gaussian CDF (Kingma &
Welling's figure 4).

Protocol: the images are binarized once (each pixel on with probability intensity / 255,
training and test with different seeds); the VAE trains on `limit` training images with 10 %
held out for early stopping on the validation negative ELBO; the test images are scored.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from scipy.stats import norm

from ..data import load_dataset, train_val_split
from ..evaluate.likelihood import binarize, likelihood_scores
from ..report import figures
from ..report.page import write_html_page
from . import STUDIES
from ._codes import train_model, write_result

VAE_MODEL = {"name": "vae_dense", "hidden": [512, 256], "activation": "relu"}
PUBLISHED = ("For scale (not the same architecture or training): Burda et al. 2015 report "
             "L_5000 = -86.76 nats for a one-stochastic-layer VAE with 50 latent units on "
             "binarized MNIST; Kingma & Welling 2014 plot bounds near -100 to -110 nats for "
             "small latent sizes.")


def binarized_mnist(dataset: str, *, limit: int | None, test_limit: int | None,
                    seed: int) -> dict:
    """Binarized training / validation / test images (uint8, 0 or 255)."""
    data = load_dataset(dataset, download=False)
    x, y = data.x_train, data.y_train
    rng = np.random.default_rng(seed)
    if limit is not None and limit < len(x):
        keep = np.sort(rng.permutation(len(x))[:limit])
        x, y = x[keep], y[keep]
    x = binarize(x, seed=seed)
    tr, va = train_val_split(y, 0.1, seed=seed, stratify=False)
    x_test = data.x_test if test_limit is None else data.x_test[:test_limit]
    return {"x_train": x[tr], "x_val": x[va], "x_test": binarize(x_test, seed=seed + 1),
            "image_shape": data.image_shape}


@torch.no_grad()
def _decode(model, z: np.ndarray) -> np.ndarray:
    device = next(model.parameters()).device
    return torch.sigmoid(model.decode(torch.as_tensor(z, dtype=torch.float32, device=device))
                         ).cpu().numpy()


@torch.no_grad()
def reconstructions_figure(model, x: np.ndarray, n: int = 10) -> Figure:
    """Row 1: binarized test images; row 2: their reconstructions (decoded means)."""
    device = next(model.parameters()).device
    xt = torch.as_tensor(x[:n], device=device).float().div_(255.0)
    model.eval()
    rec = torch.sigmoid(model(xt).x_logits).cpu().numpy()
    return figures.image_grid(np.concatenate([xt.cpu().numpy(), rec]), nrow=n)


def samples_figure(model, latent_dim: int, n: int = 30, seed: int = 0) -> Figure:
    """Images decoded from z ~ N(0, I) (the Bernoulli means, not binary samples)."""
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed)).numpy()
    return figures.image_grid(_decode(model, z), nrow=10)


def manifold_figure(model, n: int = 15) -> Figure:
    """The 2-D latent manifold: decode z = Phi^-1(u) on an n x n grid of u in (0, 1)^2."""
    u = np.linspace(0.5 / n, 1 - 0.5 / n, n)
    grid = norm.ppf(np.stack(np.meshgrid(u, u[::-1]), axis=-1).reshape(-1, 2))
    return figures.image_grid(_decode(model, grid.astype(np.float32)), nrow=n)


@STUDIES.register("vae")
def vae(out_dir: Path, *, quick: bool = False, dataset: str | None = None, progress=None,
        callbacks=(), latent_dims: tuple[int, ...] = (2, 8, 16, 32), limit: int = 60000,
        test_limit: int | None = None, epochs: int = 30, batch_size: int = 128,
        patience: int = 5, k: int = 200, seed: int = 0) -> Path:
    """Dense VAEs on binarized MNIST per latent size; see the module docstring.

    Writes ``vae_<dataset>.json`` (records: latent_dim, test ELBO, L_k) and ``index.html``
    in `out_dir`; returns the report's path.
    """
    name = dataset or ("digits" if quick else "mnist")
    model_cfg = VAE_MODEL if not quick else {**VAE_MODEL, "hidden": [32]}
    latent_dims = tuple(latent_dims)[:2] if quick else tuple(latent_dims)
    if quick:
        limit, test_limit, epochs, k = 400, 100, 1, 10
    arrays = binarized_mnist(name, limit=limit, test_limit=test_limit, seed=seed)
    train = {"epochs": epochs, "batch_size": batch_size, "lr": 1e-3, "patience": patience,
             "seed": seed}
    records, sections = [], []
    for dim in latent_dims:
        t0 = time.perf_counter()
        cfg = {**model_cfg, "latent_dim": dim}
        run_dir = out_dir / "runs" / name / f"latent{dim}"
        model = train_model(run_dir, cfg, {"name": "bce"}, train, arrays, callbacks=callbacks)
        train_seconds = time.perf_counter() - t0
        epochs_run = sum(1 for _ in open(run_dir / "history.csv")) - 1
        scores = likelihood_scores(model, arrays["x_test"], k=k, seed=seed)
        records.append({"dataset": name, "latent_dim": dim, "test_elbo": scores["elbo"],
                        "test_iw_bound": scores["iw_bound"], "k": k, "epochs": epochs_run,
                        "train_seconds": round(train_seconds, 1),
                        "protocol": f"binarized; train {len(arrays['x_train'])} + val "
                                    f"{len(arrays['x_val'])} training images; score "
                                    f"{len(arrays['x_test'])} test images"})
        fig_dir = out_dir / "figures"
        blocks = [figures.save_figure(reconstructions_figure(model, arrays["x_test"]),
                                      fig_dir / f"reconstructions-latent{dim}.png"),
                  figures.save_figure(samples_figure(model, dim, seed=seed),
                                      fig_dir / f"prior-samples-latent{dim}.png")]
        if dim == 2:
            blocks.append(figures.save_figure(manifold_figure(model),
                                              fig_dir / "manifold-latent2.png"))
        sections.append((f"latent size {dim}: reconstructions (row 1 test, row 2 "
                         "reconstructed), prior samples" + (", manifold" if dim == 2 else ""),
                         blocks))
    write_result(out_dir / f"vae_{name}.json", "vae", records)
    setup = (f"Model {json.dumps(model_cfg)}, BCE + KL (the negative ELBO), Adam lr 1e-3, "
             f"batch {batch_size}, at most {epochs} epochs, early stopping (patience "
             f"{patience}) on the validation loss; ELBO with one sample, L_k with k = {k}.")
    return write_html_page(out_dir / "index.html", "VAEs on binarized MNIST",
                           [("Set-up", [setup, PUBLISHED]),
                            ("Test log-likelihood bounds (nats per image)", [records]),
                            *sections], subtitle=f"dataset: {name}")
