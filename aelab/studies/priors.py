"""Study `priors`: the information-theoretic-learning autoencoder (Santana, Emigh and
Principe, IJCNN 2016) with a 3-D code pulled towards a prior -- none, Gaussian, Gaussian
mixture, swiss roll -- and a 3-D VAE, scored by k-means clustering of the codes.

Per dataset: a table (k-means accuracy after Hungarian matching, NMI, ARI), 3-D scatters of
the test codes coloured by class beside the prior's samples, 2-D projections, and images
decoded along straight walks over the swiss roll; beside them, k-means on 3 principal
components and on the raw pixels of the same images (``baselines`` in the result file), the
floor that the codes should lift. On the first dataset also a sigma sweep (at
lambda 10) and a lambda sweep (at sigma 1) of the swiss-roll prior.

Protocol: train on `limit` training images (10 % held out for early stopping), cluster the
official test images. Where the training images are missing (KMNIST in the project's mirror)
the model trains on 90 % of the test images and all of them are clustered; `protocol` names
which in every record.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..evaluate.clustering import cluster, cluster_scores
from ..priors import create_prior, scatter_codes
from ..report import figures
from ..report.page import write_html_page
from . import STUDIES
from ._augment import affine_jitter
from ._codes import encode, study_arrays, train_model, write_result
from ._shared import flat_pixels

log = logging.getLogger(__name__)

# The source's stacked autoencoder: 784-800-400-3, tanh encoder, linear code, ReLU decoder,
# sigmoid output (our decoders give logits; the loss applies the sigmoid).
ITL_MODEL = {"name": "dense", "latent_dim": 3, "hidden": [800, 400], "activation": "tanh",
             "decoder_activation": "relu"}
VAE_MODEL = {"name": "vae_dense", "latent_dim": 3, "hidden": [800, 400], "activation": "relu"}

# prior -> loss settings. Sigma and lambda chosen here (see the report): the source used
# sigma 1 / lambda 0.1 for the swiss roll and sigma 100 / lambda 0.1 for the others.
PRIOR_LOSSES: dict[str, dict[str, Any]] = {
    "none": {},
    "gaussian": {"prior": "gaussian", "sigma": 1.0, "divergence_weight": 0.1},
    "gmm": {"prior": "gmm", "prior_options": {"n_components": 10, "layout": "sphere",
                                              "radius": 5.0, "std": 1.0},
            "sigma": 1.0, "divergence_weight": 0.1},
    "swiss_roll": {"prior": "swiss_roll", "sigma": 1.0, "divergence_weight": 0.1},
}
# Affine jitter of the training inputs (see _augment.py); "none" turns it off.
AUGMENT = {"rotate": 10.0, "scale": 0.1, "shift": 2.0}
SETTINGS_NOTE = ("benchmarks/results/priors_kmnist.json and priors_sweeps_kmnist.json come "
                 "from these defaults (seeds 1 and 2; the sweeps on seed 1).")
SIGMAS, SWEEP_LAMBDA = (1.0, 10.0, 100.0, 1000.0), 10.0
LAMBDAS = (0.01, 0.1, 1.0, 10.0)


def score_codes(z: np.ndarray, y: np.ndarray, seed: int) -> dict[str, float]:
    scores = cluster_scores(y, cluster(z, len(np.unique(y)), method="kmeans", seed=seed))
    return {"kmeans_accuracy": scores["accuracy"], "nmi": scores["nmi"], "ari": scores["ari"]}


def baseline_records(arrays: dict, seed: int, dim: int = 3) -> list[dict]:
    """k-means on the same images without an autoencoder, the floor a prior must lift:
    `dim` principal components fitted on the training images, and the raw pixels."""
    from sklearn.decomposition import PCA

    pixels = flat_pixels(arrays["x_eval"])
    pca = PCA(dim, svd_solver="covariance_eigh").fit(flat_pixels(arrays["x_train"]))
    features = {"pca": pca.transform(pixels), "pixels": pixels}
    return [{"baseline": name, "seed": seed, "dim": z.shape[1],
             **score_codes(z, arrays["y_eval"], seed), "protocol": arrays["protocol"]}
            for name, z in features.items()]


def codes_figure(panels: list[tuple[str, np.ndarray, np.ndarray, Any]]) -> Figure:
    """One row per run: test codes (3-D), prior samples (3-D), then the three 2-D
    projections of the codes. `panels` = [(title, codes, labels, prior or None)]."""
    fig = Figure(figsize=(16, 3.2 * len(panels)))
    for row, (title, z, y, prior) in enumerate(panels):
        ax = fig.add_subplot(len(panels), 5, 5 * row + 1, projection="3d")
        scatter_codes(z, y, ax=ax, title=f"{title}: test codes")
        ax = fig.add_subplot(len(panels), 5, 5 * row + 2, projection="3d")
        if prior is not None:
            s, c = prior.sample_with_colour(len(z), generator=torch.Generator().manual_seed(0))
            scatter_codes(s.numpy(), c.numpy(), ax=ax, title=f"prior: {prior.name}",
                          cmap=prior.cmap)
        else:
            ax.set_axis_off()
            ax.set_title("no prior", fontsize=9)
        for j, (a, b) in enumerate([(0, 1), (0, 2), (1, 2)]):
            ax = fig.add_subplot(len(panels), 5, 5 * row + 3 + j)
            scatter_codes(z[:, [a, b]], y, ax=ax, title=f"z{a} vs z{b}")
    fig.tight_layout()
    return fig


@torch.no_grad()
def walk_figure(model, prior, n: int = 12) -> Figure:
    """Images decoded along straight walks on the swiss roll: along it and across it."""
    device = next(model.parameters()).device
    rows = [torch.sigmoid(model.decode(prior.walk(n, along).to(device))).cpu().numpy()
            for along in ("roll", "height")]
    return figures.image_grid(np.concatenate(rows), nrow=n,
                              titles=[f"roll {i}" for i in range(n)]
                              + [f"height {i}" for i in range(n)])


def prior_losses(overrides: dict | None) -> dict[str, dict[str, Any]]:
    """`PRIOR_LOSSES` with per-prior loss settings replaced, e.g. ``{gaussian = {sigma = 10,
    divergence_weight = 1}}``; keys are checked when the objective is built."""
    losses = json.loads(json.dumps(PRIOR_LOSSES))
    for name, settings in (overrides or {}).items():
        if name not in losses or name == "none":
            raise ConfigError(f"prior_settings has no prior {name!r}; its priors: "
                              f"{', '.join(k for k in losses if k != 'none')}.")
        if not isinstance(settings, dict):
            raise ConfigError(f"prior_settings.{name} must be a table of loss settings like "
                              f"{{sigma = 1, divergence_weight = 0.1}}; got {settings!r}.")
        losses[name] |= settings
    return losses


def _prior_of(loss: dict, dim: int = 3):
    if "prior" not in loss:
        return None
    return create_prior(loss["prior"], **{"dim": dim, **loss.get("prior_options", {})})


def _summary(records: list[dict], dataset: str) -> list[dict]:
    """Mean and spread over seeds of each prior's scores."""
    rows = []
    for prior in dict.fromkeys(r["prior"] for r in records):
        mine = [r for r in records if r["prior"] == prior]
        acc = [r["kmeans_accuracy"] for r in mine]
        rows.append({"dataset": dataset, "prior": prior, "seeds": len(mine),
                     "kmeans_accuracy_mean": float(np.mean(acc)),
                     "kmeans_accuracy_std": float(np.std(acc)),
                     "kmeans_accuracy_min": float(np.min(acc)),
                     "nmi_mean": float(np.mean([r["nmi"] for r in mine])),
                     "ari_mean": float(np.mean([r["ari"] for r in mine]))})
    return rows


def run_dataset(out: Path, dataset: str, *, quick: bool, limit: int | None, train: dict,
                seeds: tuple[int, ...], augment: dict | None, losses: dict | None = None,
                callbacks=()) -> tuple[list[dict], list[dict], list[dict], list[tuple[str, list]]]:
    """The prior comparison on one dataset, one training per prior and seed: records,
    summary over seeds, the baselines without an autoencoder (`baseline_records`) and report
    sections (figures from the first seed)."""
    model_cfg = ITL_MODEL if not quick else {**ITL_MODEL, "hidden": [32, 16]}
    vae_cfg = VAE_MODEL if not quick else {**VAE_MODEL, "hidden": [32, 16]}
    jitter = affine_jitter(augment)
    losses = losses or PRIOR_LOSSES
    runs = [(name, model_cfg, {"name": "bce", **loss}) for name, loss in losses.items()]
    runs.append(("vae", vae_cfg, {"name": "bce"}))
    records, baselines, panels, models = [], [], [], {}
    for seed in seeds:
        arrays = study_arrays(dataset, limit=limit, seed=seed, quick=quick)
        baselines += [{"dataset": dataset, **r} for r in baseline_records(arrays, seed)]
        for name, mcfg, loss in runs:
            model = train_model(out / "runs" / dataset / f"{name}-seed{seed}", mcfg, loss,
                                {**train, "seed": seed}, arrays, callbacks=callbacks,
                                corrupt=jitter)
            z = encode(model, arrays["x_eval"])
            records.append({"dataset": dataset, "prior": name, "seed": seed, "dim": z.shape[1],
                            **score_codes(z, arrays["y_eval"], seed),
                            "sigma": loss.get("sigma"), "lambda": loss.get("divergence_weight"),
                            "divergence": "cs" if "prior" in loss else None,
                            "augment": repr(jitter) if jitter else None,
                            "protocol": arrays["protocol"]})
            if seed == seeds[0]:
                # The VAE's prior is N(0, I): drawn beside its codes (means) for comparison.
                prior = _prior_of(loss if name != "vae" else {"prior": "gaussian"})
                panels.append((name, z, arrays["y_eval"], prior))
                models[name] = model
    summary = _summary(records, dataset)
    fig_dir = out / "figures"
    codes_png = figures.save_figure(codes_figure(panels), fig_dir / f"codes-{dataset}.png")
    walk_png = figures.save_figure(walk_figure(models["swiss_roll"], _prior_of(
        losses["swiss_roll"])), fig_dir / f"swiss-roll-walk-{dataset}.png")
    sections = [(f"{dataset}: k-means on 3-D codes, over seeds {list(seeds)}",
                 [records[0]["protocol"], summary, records]),
                (f"{dataset}: k-means without an autoencoder (3 principal components of the "
                 "training images; raw pixels), the floor the codes should beat", [baselines]),
                (f"{dataset}: codes and priors (seed {seeds[0]})", [codes_png]),
                (f"{dataset}: decoded along the swiss roll (row 1 along, row 2 across)",
                 [walk_png])]
    return records, summary, baselines, sections


def run_sweeps(out: Path, dataset: str, *, quick: bool, limit: int | None, train: dict,
               seed: int, augment: dict | None, callbacks=()
               ) -> tuple[list[dict], list[tuple[str, list]]]:
    """Swiss-roll prior: sigma sweep at lambda 10 and lambda sweep at sigma 1 (one seed)."""
    arrays = study_arrays(dataset, limit=limit, seed=seed, quick=quick)
    model_cfg = ITL_MODEL if not quick else {**ITL_MODEL, "hidden": [32, 16]}
    jitter = affine_jitter(augment)
    sigmas, lambdas = (SIGMAS[:1], LAMBDAS[:1]) if quick else (SIGMAS, LAMBDAS)
    settings = [("sigma", s, SWEEP_LAMBDA) for s in sigmas] + [("lambda", 1.0, lam)
                                                                for lam in lambdas]
    records, panels, prior = [], [], _prior_of(PRIOR_LOSSES["swiss_roll"])
    for sweep, sigma, lam in settings:
        loss = {"name": "bce", "prior": "swiss_roll", "sigma": sigma, "divergence_weight": lam}
        model = train_model(out / "runs" / dataset / f"sweep-sigma{sigma:g}-lambda{lam:g}"
                            f"-seed{seed}", model_cfg, loss, {**train, "seed": seed}, arrays,
                            callbacks=callbacks, corrupt=jitter)
        z = encode(model, arrays["x_eval"])
        records.append({"dataset": dataset, "sweep": sweep, "prior": "swiss_roll", "dim": 3,
                        "sigma": sigma, "lambda": lam, "seed": seed,
                        **score_codes(z, arrays["y_eval"], seed),
                        "augment": repr(jitter) if jitter else None,
                        "protocol": arrays["protocol"]})
        panels.append((f"sigma {sigma:g}, lambda {lam:g}", z, arrays["y_eval"], prior))
    png = figures.save_figure(codes_figure(panels), out / "figures" / f"sweeps-{dataset}.png")
    return records, [(f"{dataset}: swiss-roll sigma sweep (lambda {SWEEP_LAMBDA:g}) and lambda "
                      f"sweep (sigma 1), seed {seed}", [records, png])]


@STUDIES.register("priors")
def priors(out_dir: Path, *, quick: bool = False, dataset: str | None = None, progress=None,
           callbacks=(), datasets: tuple[str, ...] = ("kmnist", "mnist", "fashion_mnist"),
           limit: int = 10000, epochs: int = 120, batch_size: int = 250, patience: int = 30,
           seeds: tuple[int, ...] = (1, 2), augment: dict | str | None = AUGMENT,
           sweeps: bool = True, sweeps_only: bool = False,
           prior_settings: dict | None = None) -> Path:
    """Compare priors on the 3-D code of the ITL autoencoder; see the module docstring.

    `augment` is the affine jitter of the training inputs ({rotate, scale, shift}; "none"
    turns it off). `sweeps_only` runs just the sigma and lambda sweeps (first seed).
    `prior_settings` replaces loss settings per prior (see `prior_losses`). Writes
    ``priors_<dataset>.json`` (and ``priors_sweeps_<dataset>.json``) result files and
    ``index.html`` in `out_dir`; returns the report's path.
    """
    names = [dataset] if dataset else (["digits"] if quick else list(datasets))
    limit, seeds = (400, tuple(seeds)[:1]) if quick else (limit, tuple(seeds))
    augment = None if augment == "none" else augment
    losses = prior_losses(prior_settings)
    train = {"epochs": 1 if quick else epochs, "batch_size": 64 if quick else batch_size,
             "lr": 1e-3, "patience": patience}
    sections: list[tuple[str, list]] = [("Set-up", [
        f"Model {json.dumps(ITL_MODEL)} (the source's 784-800-400-3), BCE reconstruction, "
        f"Adam lr 1e-3, batch {train['batch_size']}, at most {train['epochs']} epochs with "
        f"early stopping (patience {patience}) on a 10 % validation split (best epoch kept), "
        f"seeds {list(seeds)}. Input augmentation (target stays clean): "
        f"{json.dumps(augment)}. Prior settings: {json.dumps(losses)}. VAE: "
        f"{json.dumps(VAE_MODEL)}. k-means: 10 clusters, 10 initialisations, on the raw "
        "codes; accuracy after Hungarian matching.", SETTINGS_NOTE,
        "Published (KMNIST, 3-D codes, k-means, source course project): no prior 40 %, "
        "N(0, 1) 45.19 %, mixture 44.24 %, swiss roll 42 %."])]
    for i, name in enumerate(names):
        if not sweeps_only:
            records, summary, baselines, secs = run_dataset(
                out_dir, name, quick=quick, limit=limit, train=train, seeds=seeds,
                augment=augment, losses=losses, callbacks=callbacks)
            write_result(out_dir / f"priors_{name}.json", "priors", records, summary=summary,
                         baselines=baselines)
            sections += secs
        if (sweeps and i == 0) or sweeps_only:
            sweep_records, secs = run_sweeps(out_dir, name, quick=quick, limit=limit,
                                             train=train, seed=seeds[0], augment=augment,
                                             callbacks=callbacks)
            write_result(out_dir / f"priors_sweeps_{name}.json", "priors", sweep_records)
            sections += secs
    return write_html_page(out_dir / "index.html", "Priors on a 3-D code and k-means clustering",
                           sections, subtitle=f"datasets: {', '.join(names)}")
