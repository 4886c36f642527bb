"""Study `priors`: the information-theoretic-learning autoencoder (Santana, Emigh and
Principe, IJCNN 2016) with a 3-D code pulled towards a prior -- none, Gaussian, Gaussian
mixture, swiss roll -- and a 3-D VAE, scored by k-means clustering of the codes.

On one dataset (``--dataset``; kmnist by default, digits with --quick): a table (k-means
accuracy after Hungarian matching, NMI, ARI), 3-D scatters of the test codes coloured by
class beside the prior's samples, 2-D projections, and images decoded along straight walks
over the swiss roll; beside them, k-means on 3 principal components and on the raw pixels of
the same images (``baselines`` in the result file), the floor that the codes should lift.
With `sweeps`, also a sigma sweep (at lambda 10) and a lambda sweep (at sigma 1) of the
swiss-roll prior (``sweeps`` in the result file).

Protocol: train on `limit` training images (10 % held out for early stopping, drawn without
looking at the labels), cluster the official test images. Where the training images are
missing (KMNIST in the project's mirror) the model trains on 90 % of the test images and all
of them are clustered (`aelab.data.training_split`); `protocol` names which in every record.
Every training is an ordinary run folder ``runs/<prior>-seed<seed>``; the input jitter is
the ``affine`` corruption.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from matplotlib.figure import Figure

from ..config import RunConfig
from ..corruptions import build as build_corruption
from ..corruptions.affine import affine_corruption
from ..data import clustering_protocol, scored_images, training_split
from ..errors import ConfigError
from ..evaluate.clustering import cluster, cluster_scores
from ..executors import PlannedRun
from ..infer import encode
from ..priors import create_prior, scatter_codes
from ..report import figures
from ..runs import load_run, prepare_data
from . import STUDIES
from ._shared import flat_pixels
from .base import Results, Study, StudyOptions

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
# Affine jitter of the training inputs (the `affine` corruption); "none" turns it off.
AUGMENT = {"rotate": 10.0, "scale": 0.1, "shift": 2.0}
SETTINGS_NOTE = ("benchmarks/results/priors_kmnist.json and priors_sweeps_kmnist.json come "
                 "from these defaults (seeds 1 and 2; the sweeps on seed 1).")
SIGMAS, SWEEP_LAMBDA = (1.0, 10.0, 100.0, 1000.0), 10.0
LAMBDAS = (0.01, 0.1, 1.0, 10.0)


@dataclass(frozen=True)
class Options(StudyOptions):
    """`limit` training images (10000; quick 400), `test_limit` test images clustered (all;
    quick 300), `epochs` (at most 120, early stopping with `patience` 30; quick 1),
    `batch_size` (250; quick 64), `seeds` ([1, 2]; quick [1]), `hidden` layers of both
    models ([800, 400]; quick [32, 16]), `augment` (the affine jitter {rotate, scale, shift}
    of the training inputs; "none" or null: none), `sweeps` (the sigma and lambda sweeps of
    the swiss-roll prior, on the first seed), `sweeps_only`, and `prior_settings` (loss
    settings per prior over `PRIOR_LOSSES`, e.g. {gaussian = {sigma = 10}})."""

    limit: int | None = 10000
    test_limit: int | None = None
    epochs: int = 120
    batch_size: int = 250
    patience: int | None = 30
    seeds: tuple[int, ...] = (1, 2)
    hidden: tuple[int, ...] = (800, 400)
    augment: dict | Literal["none"] | None = field(default_factory=lambda: dict(AUGMENT))
    sweeps: bool = True
    sweeps_only: bool = False
    prior_settings: dict = field(default_factory=dict)
    QUICK = {"limit": 400, "test_limit": 300, "epochs": 1, "batch_size": 64, "seeds": (1,),
             "hidden": (32, 16)}

    def check(self, study: str) -> None:
        if not self.seeds:
            raise ConfigError(f"study {study!r}: option seeds = []: give at least one seed, "
                              "e.g. [1].")
        affine_corruption(self.augment, key=f"study {study!r}: option augment")
        prior_losses(self.prior_settings, study)

    def corruption(self) -> list[dict]:
        """The run configs' ``corruption``: the affine jitter, or none."""
        return affine_corruption(self.augment)


def prior_losses(overrides: dict | None, study: str = "priors") -> dict[str, dict[str, Any]]:
    """`PRIOR_LOSSES` with per-prior loss settings replaced, e.g. ``{gaussian = {sigma = 10,
    divergence_weight = 1}}``; keys are checked when the run configs are built."""
    losses = json.loads(json.dumps(PRIOR_LOSSES))
    for name, settings in (overrides or {}).items():
        if name not in losses or name == "none":
            raise ConfigError(f"study {study!r}: option prior_settings has no prior {name!r}; "
                              f"its priors: {', '.join(k for k in losses if k != 'none')}.")
        if not isinstance(settings, dict):
            raise ConfigError(f"study {study!r}: option prior_settings.{name} must be a table "
                              "of loss settings like {sigma = 1, divergence_weight = 0.1}; "
                              f"got {settings!r}.")
        losses[name] |= settings
    return losses


@STUDIES.register("priors")
class Priors(Study):
    """One run per prior (and the VAE) and seed, plus the swiss-roll sweeps; k-means on the
    codes."""

    Options = Options
    dataset_full = "kmnist"

    def plan(self) -> list[PlannedRun]:
        o = self.opts
        self.split = training_split(self.dataset)
        losses = prior_losses(o.prior_settings)
        self.main = [] if o.sweeps_only else [
            (f"{prior}-seed{seed}", prior, seed, _itl(o) if prior != "vae" else _vae(o),
             {"name": "bce", **losses.get(prior, {})})
            for seed in o.seeds for prior in [*losses, "vae"]]
        seed = o.seeds[0]
        sigmas, lambdas = (SIGMAS[:1], LAMBDAS[:1]) if self.quick else (SIGMAS, LAMBDAS)
        points = [("sigma", s, SWEEP_LAMBDA) for s in sigmas] + \
            [("lambda", 1.0, lam) for lam in lambdas]
        self.swept = [] if not (o.sweeps or o.sweeps_only) else [
            (f"sweep-sigma{sigma:g}-lambda{lam:g}-seed{seed}", sweep, seed, _itl(o),
             {"name": "bce", "prior": "swiss_roll", "sigma": sigma, "divergence_weight": lam})
            for sweep, sigma, lam in points]
        return [PlannedRun(name, self._config(name, seed, model, loss))
                for name, _, seed, model, loss in self.main + self.swept]

    def _config(self, name: str, seed: int, model: dict, loss: dict) -> RunConfig:
        o = self.opts
        return RunConfig.from_dict({
            "name": f"priors-{name}",
            "data": {"name": self.dataset, "limit": None if self.split == "test" else o.limit,
                     "test_limit": o.test_limit, "val_fraction": 0.1, "stratify": False,
                     "train_split": self.split},
            "model": model, "loss": loss, "corruption": o.corruption(),
            "train": {"epochs": o.epochs, "batch_size": o.batch_size, "lr": 1e-3,
                      "patience": o.patience, "seed": seed}})

    def score(self, runs: dict[str, Path]) -> Results:
        o, dataset = self.opts, self.dataset
        jitter = repr(build_corruption(o.corruption())) if o.corruption() else None
        records, baselines, self.panels, self.models, arrays = [], [], [], {}, {}
        for name, prior, seed, _, loss in self.main:
            if seed not in arrays:
                arrays[seed] = self._arrays(runs[name], seed)
                baselines += [{"dataset": dataset, **r}
                              for r in baseline_records(arrays[seed], seed)]
            a = arrays[seed]
            _, model = load_run(runs[name])
            z = encode(model, a["x_eval"])
            records.append({"dataset": dataset, "prior": prior, "seed": seed, "dim": z.shape[1],
                            **score_codes(z, a["y_eval"], seed),
                            "sigma": loss.get("sigma"), "lambda": loss.get("divergence_weight"),
                            "divergence": "cs" if "prior" in loss else None,
                            "augment": jitter, "protocol": a["protocol"]})
            if seed == o.seeds[0]:
                # The VAE's prior is N(0, I): drawn beside its codes (means) for comparison.
                shown = _prior_of(loss if prior != "vae" else {"prior": "gaussian"})
                self.panels.append((prior, z, a["y_eval"], shown))
                self.models[prior] = (model, _prior_of(loss))
        sweeps, self.sweep_panels = [], []
        for name, sweep, seed, _, loss in self.swept:
            if seed not in arrays:                      # sweeps_only
                arrays[seed] = self._arrays(runs[name], seed)
            a = arrays[seed]
            _, model = load_run(runs[name])
            z = encode(model, a["x_eval"])
            sigma, lam = loss["sigma"], loss["divergence_weight"]
            sweeps.append({"dataset": dataset, "sweep": sweep, "prior": "swiss_roll", "dim": 3,
                           "sigma": sigma, "lambda": lam, "seed": seed,
                           **score_codes(z, a["y_eval"], seed), "augment": jitter,
                           "protocol": a["protocol"]})
            self.sweep_panels.append((f"sigma {sigma:g}, lambda {lam:g}", z, a["y_eval"],
                                      _prior_of(PRIOR_LOSSES["swiss_roll"])))
        extra = {} if o.sweeps_only else {"summary": _summary(records, dataset),
                                          "baselines": baselines}
        return Results(records, settings={"losses": prior_losses(o.prior_settings),
                                          "itl_model": _itl(o), "vae_model": _vae(o)},
                       extra={**extra, **({"sweeps": sweeps} if self.swept else {})})

    def _arrays(self, run: Path, seed: int) -> dict:
        """What the runs of `seed` trained on (their run config's splits) and the images
        scored, with the protocol's description."""
        cfg, _ = load_run(run)
        splits = prepare_data(cfg)
        x_eval, y_eval, _ = scored_images(splits.data, test_limit=self.opts.test_limit,
                                          train_split=self.split)
        n_val = 0 if splits.x_val is None else len(splits.x_val)
        return {"x_train": splits.x_train, "x_eval": x_eval, "y_eval": y_eval,
                "protocol": clustering_protocol(len(splits.x_train), n_val, len(x_eval),
                                                train_split=self.split)}

    def report(self, results: Results):
        o, dataset, fig_dir = self.opts, self.dataset, self.fig_dir
        sections: list = [("Set-up", [
            f"Model {json.dumps(_itl(o))} (the source's 784-800-400-3), BCE reconstruction, "
            f"Adam lr 1e-3, batch {o.batch_size}, at most {o.epochs} epochs with early "
            f"stopping (patience {o.patience}) on a 10 % validation split (best epoch kept), "
            f"seeds {list(o.seeds)}. Input augmentation (target stays clean): "
            f"{json.dumps(o.augment)}. Prior settings: "
            f"{json.dumps(prior_losses(o.prior_settings))}. VAE: {json.dumps(_vae(o))}. "
            "k-means: 10 clusters, 10 initialisations, on the raw codes; accuracy after "
            "Hungarian matching.", SETTINGS_NOTE,
            "Published (KMNIST, 3-D codes, k-means, source course project): no prior 40 %, "
            "N(0, 1) 45.19 %, mixture 44.24 %, swiss roll 42 %."])]
        if results.records:
            records = results.records
            codes_png = figures.save_figure(codes_figure(self.panels),
                                            fig_dir / f"codes-{dataset}.png")
            model, prior = self.models["swiss_roll"]
            walk_png = figures.save_figure(walk_figure(model, prior),
                                           fig_dir / f"swiss-roll-walk-{dataset}.png")
            sections += [
                (f"{dataset}: k-means on 3-D codes, over seeds {list(o.seeds)}",
                 [records[0]["protocol"], results.extra["summary"], records]),
                (f"{dataset}: k-means without an autoencoder (3 principal components of the "
                 "training images; raw pixels), the floor the codes should beat",
                 [results.extra["baselines"]]),
                (f"{dataset}: codes and priors (seed {o.seeds[0]})", [codes_png]),
                (f"{dataset}: decoded along the swiss roll (row 1 along, row 2 across)",
                 [walk_png])]
        if self.swept:
            png = figures.save_figure(codes_figure(self.sweep_panels),
                                      fig_dir / f"sweeps-{dataset}.png")
            sections.append((f"{dataset}: swiss-roll sigma sweep (lambda {SWEEP_LAMBDA:g}) and "
                             f"lambda sweep (sigma 1), seed {o.seeds[0]}",
                             [results.extra["sweeps"], png]))
        return sections

    def title(self) -> str:
        return f"Priors on a 3-D code and k-means clustering ({self.dataset})"


def _itl(o: Options) -> dict:
    return {**ITL_MODEL, "hidden": list(o.hidden)}


def _vae(o: Options) -> dict:
    return {**VAE_MODEL, "hidden": list(o.hidden)}


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
