"""Study `vae`: dense VAEs on binarized MNIST across latent sizes (Kingma & Welling,
https://arxiv.org/abs/1312.6114), scored by the test ELBO and the importance-weighted bound
on the test log-likelihood (Burda et al., https://arxiv.org/abs/1509.00519); with
reconstructions, samples from the prior, and, for the 2-D latent, the learned manifold:
images decoded on a grid of latent points through the inverse Gaussian CDF (Kingma &
Welling's figure 4).

Protocol: the images are binarized once (each pixel on with probability intensity / 255,
training and test with different seeds: ``data.binarize`` of the run config); the VAE trains
on `limit` training images with 10 % held out (drawn without looking at the labels) for early
stopping on the validation negative ELBO; the test images are scored. Each latent size is an
ordinary run folder ``runs/latent<d>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from matplotlib.figure import Figure
from scipy.stats import norm

from ..config import RunConfig
from ..errors import ConfigError
from ..evaluate.likelihood import likelihood_scores
from ..executors import PlannedRun
from ..files import read_json
from ..infer import decode, reconstruct
from ..report import figures
from ..runs import load_run, prepare_data
from . import STUDIES
from .base import Results, Study, StudyOptions

VAE_MODEL = {"name": "vae_dense", "hidden": [512, 256], "activation": "relu"}
PUBLISHED = ("For scale (not the same architecture or training): Burda et al. 2015 report "
             "L_5000 = -86.76 nats for a one-stochastic-layer VAE with 50 latent units on "
             "binarized MNIST; Kingma & Welling 2014 plot bounds near -100 to -110 nats for "
             "small latent sizes.")


@dataclass(frozen=True)
class Options(StudyOptions):
    """`latent_dims` ([2, 8, 16, 32]; quick [2, 8]); `limit` training images (60000; quick
    400); `test_limit` test images scored (all; quick 100); `epochs` (at most 30, early
    stopping with `patience` 5; quick 1); `batch_size` (128); `hidden` layers ([512, 256];
    quick [32]); `k` importance samples of the bound L_k (200; quick 10); `seed` (0);
    `precision` of the decoder in L_k (fp32; bf16 is ~3x faster on CPUs with AMX: then L_k
    is also computed in fp32 on the first `check_images` test images (500) and both are
    recorded, so the file shows what bf16 changed)."""

    latent_dims: tuple[int, ...] = (2, 8, 16, 32)
    limit: int | None = 60000
    test_limit: int | None = None
    epochs: int = 30
    batch_size: int = 128
    patience: int | None = 5
    hidden: tuple[int, ...] = (512, 256)
    k: int = 200
    seed: int = 0
    precision: Literal["fp32", "bf16"] = "fp32"
    check_images: int = 500
    QUICK = {"latent_dims": (2, 8), "limit": 400, "test_limit": 100, "epochs": 1, "k": 10,
             "hidden": (32,)}

    def check(self, study: str) -> None:
        if not self.latent_dims or min(self.latent_dims) < 1:
            raise ConfigError(f"study {study!r}: option latent_dims = {list(self.latent_dims)}"
                              ": give latent sizes >= 1, e.g. [2, 8].")
        if self.k < 1:
            raise ConfigError(f"study {study!r}: option k = {self.k} is not allowed; it must "
                              "be a whole number >= 1 (importance samples).")


@STUDIES.register("vae")
class Vae(Study):
    """One dense VAE per latent size on binarized images; ELBO and L_k on the test images."""

    Options = Options

    def model(self, dim: int) -> dict:
        return {**VAE_MODEL, "hidden": list(self.opts.hidden), "latent_dim": dim}

    def plan(self) -> list[PlannedRun]:
        o = self.opts
        return [PlannedRun(f"latent{dim}", RunConfig.from_dict({
            "name": f"vae-latent{dim}",
            "data": {"name": self.dataset, "limit": o.limit, "test_limit": o.test_limit,
                     "val_fraction": 0.1, "stratify": False, "binarize": True},
            "model": self.model(dim), "loss": {"name": "bce"},
            "train": {"epochs": o.epochs, "batch_size": o.batch_size, "lr": 1e-3,
                      "patience": o.patience, "seed": o.seed}}))
            for dim in o.latent_dims]

    def score(self, runs: dict[str, Path]) -> Results:
        o = self.opts
        records, self.sections = [], []
        for dim in o.latent_dims:
            run = runs[f"latent{dim}"]
            cfg, model = load_run(run)
            splits = prepare_data(cfg)          # the binarized images the run saw
            x_test = splits.x_test
            metrics = read_json(run / "metrics.json", "run metrics")
            scores = likelihood_scores(model, x_test, k=o.k, seed=o.seed,
                                       precision=o.precision, progress=self.progress)
            records.append({"dataset": self.dataset, "latent_dim": dim,
                            "test_elbo": scores["elbo"], "test_iw_bound": scores["iw_bound"],
                            "k": o.k, "epochs": metrics["epochs"],
                            "train_seconds": round(metrics["train_seconds"], 1),
                            "protocol": f"binarized; train {len(splits.x_train)} + val "
                                        f"{len(splits.x_val)} training images; score "
                                        f"{len(x_test)} test images"})
            if o.precision != "fp32":
                records[-1] |= self.precision_check(model, x_test)
            blocks = [figures.save_figure(reconstructions_figure(model, x_test),
                                          self.fig_dir / f"reconstructions-latent{dim}.png"),
                      figures.save_figure(samples_figure(model, dim, seed=o.seed),
                                          self.fig_dir / f"prior-samples-latent{dim}.png")]
            if dim == 2:
                blocks.append(figures.save_figure(manifold_figure(model),
                                                  self.fig_dir / "manifold-latent2.png"))
            self.sections.append((f"latent size {dim}: reconstructions (row 1 test, row 2 "
                                  "reconstructed), prior samples"
                                  + (", manifold" if dim == 2 else ""), blocks))
        return Results(records, settings={"model": {**VAE_MODEL, "hidden": list(o.hidden)}})

    def precision_check(self, model, x_test) -> dict:
        """L_k on the first `check_images` test images in fp32 and at `precision`, with the
        same draws: what the faster arithmetic changed."""
        o = self.opts
        part = x_test[:o.check_images]
        both = {p: likelihood_scores(model, part, k=o.k, seed=o.seed, precision=p)["iw_bound"]
                for p in ("fp32", o.precision)}
        return {"iw_precision": o.precision, "check_images": len(part),
                "check_iw_bound_fp32": both["fp32"], f"check_iw_bound_{o.precision}":
                    both[o.precision]}

    def report(self, results: Results):
        o = self.opts
        setup = (f"Model {json.dumps({**VAE_MODEL, 'hidden': list(o.hidden)})}, BCE + KL (the "
                 f"negative ELBO), Adam lr 1e-3, batch {o.batch_size}, at most {o.epochs} "
                 f"epochs, early stopping (patience {o.patience}) on the validation loss; ELBO "
                 f"with one sample, L_k with k = {o.k}"
                 + (f" (decoder in {o.precision} autocast; the check_* columns give L_k in fp32 "
                    f"and {o.precision} on the first {o.check_images} test images)"
                    if o.precision != "fp32" else "") + ".")
        return [("Set-up", [setup, PUBLISHED]),
                ("Test log-likelihood bounds (nats per image)", [results.records]),
                *self.sections]

    def title(self) -> str:
        return f"VAEs on binarized {self.dataset}"


def reconstructions_figure(model, x: np.ndarray, n: int = 10) -> Figure:
    """Row 1: binarized test images; row 2: their reconstructions (decoded means)."""
    rec = reconstruct(model, x[:n])
    return figures.image_grid(np.concatenate([x[:n].astype(np.float32) / 255.0, rec]), nrow=n)


def samples_figure(model, latent_dim: int, n: int = 30, seed: int = 0) -> Figure:
    """Images decoded from z ~ N(0, I) (the Bernoulli means, not binary samples)."""
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed)).numpy()
    return figures.image_grid(decode(model, z), nrow=10)


def manifold_figure(model, n: int = 15) -> Figure:
    """The 2-D latent manifold: decode z = Phi^-1(u) on an n x n grid of u in (0, 1)^2."""
    u = np.linspace(0.5 / n, 1 - 0.5 / n, n)
    grid = norm.ppf(np.stack(np.meshgrid(u, u[::-1]), axis=-1).reshape(-1, 2))
    return figures.image_grid(decode(model, grid.astype(np.float32)), nrow=n)
