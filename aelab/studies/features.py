"""Features study: are autoencoder codes good features for a classifier?

Logistic regression, 4-NN and the 1000-500-500 MLP are trained on raw pixels, on PCA codes
and on autoencoder codes (dense, and optionally convolutional) at d = 10, 20, 30, 40, 50, and
compared with the reference CNN trained end to end (`aelab.models.classifier`).

Two protocols, always named next to the numbers:

* ``official``: train on the training set, test on the official test set (MNIST,
  Fashion-MNIST; KMNIST where its training images are available).
* ``test-5fold`` (recorded as ``<dataset>-test-5fold``): the official *test* set split into 5
  stratified folds (`aelab.data.stratified_kfold`); each fold is tested once by everything
  trained on the other four (8000 / 2000 images for KMNIST). Used for KMNIST on machines
  without its training images. Never compare its numbers with the official protocol's.

The PCA and every autoencoder are fitted on the training part only, without labels; the
classifiers then see the codes of the same images with their labels. Each autoencoder is an
ordinary run folder ``runs/<kind>-d<d>-<official|fold<k>>`` (``data.subset = "first"`` for
the official protocol's `limit`; ``data.folds``/``pool = "test"`` for a fold), trained and
reused by the executors. The classifiers' results are cached per (features, fold) in
``cache/`` with their settings, so a study can be run in pieces (``--option kinds=[cnn]``)
and a later full run only adds what is missing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Literal

import numpy as np

from ..config import RunConfig
from ..data import load_dataset, stratified_kfold
from ..errors import ConfigError, DataError
from ..evaluate.classification import CLASSIFIERS, fit_predict, standardize
from ..executors import PlannedRun
from ..files import read_json
from ..infer import encode
from ..judge import judge_run, load_judge
from ..models.classifier import create_classifier
from ..runs import load_run
from ..train import write_json
from ..train.classify import predict, train_classifier
from . import STUDIES
from ._shared import flat_pixels
from .base import Results, Study, StudyOptions
from .features_report import report_sections

log = logging.getLogger(__name__)

KINDS = ("pixels", "pca", "ae_dense", "ae_conv", "cnn")
AUTOENCODERS = {"ae_dense": {"name": "dense", "hidden": [512, 256]},
                # Batch norm: without it this conv AE collapsed to the mean image on MNIST.
                # [16, 32]: on Fashion-MNIST (d = 50, 8 epochs) its codes + MLP reached
                # 90.70 % against 90.91 % with [32, 64], in 251 s instead of 675 s.
                "ae_conv": {"name": "conv", "channels": [16, 32], "batch_norm": True}}
PROTOCOLS = ("official", "test-5fold")
AE_EPOCHS = {"full": {"ae_dense": 30, "ae_conv": 8}, "quick": {"ae_dense": 2, "ae_conv": 2}}
# Epochs and random shift (pixels) of the reference CNN per dataset; 10 / 1 otherwise.
CNN = {"mnist": (8, 2), "fashion_mnist": (15, 1)}


@dataclass(frozen=True)
class Options(StudyOptions):
    """`protocol` (official | test-5fold), `kinds` (subset of pixels, pca, ae_dense, ae_conv,
    cnn; default all), `classifiers` (logistic, knn, mlp), `dims` ([10, 20, 30, 40, 50];
    quick [4, 8]), `folds` (5, for test-5fold), `ae_epochs` (one number for every
    autoencoder, or a table such as {ae_dense=30, ae_conv=8}, the defaults; quick 2 each),
    `mlp_epochs` (20; quick 2), `cnn_epochs` (mnist 8, fashion_mnist 15, else 10; quick 4),
    `limit` (training images of the official protocol, the first ones; default all, quick
    300), `seed`, `mlp_options` (MLP constructor options for every kind of features, e.g.
    {dropout=0.2}), `ae_options` (autoencoder constructor options over the defaults, e.g.
    {activation="tanh"})."""

    protocol: Literal["official", "test-5fold"] = "official"
    kinds: tuple[Literal["pixels", "pca", "ae_dense", "ae_conv", "cnn"], ...] = KINDS
    classifiers: tuple[Literal["logistic", "knn", "mlp"], ...] = CLASSIFIERS
    dims: tuple[int, ...] = (10, 20, 30, 40, 50)
    folds: int = 5
    ae_epochs: int | dict | None = None
    mlp_epochs: int = 20
    cnn_epochs: int | None = None
    limit: int | None = None
    seed: int = 0
    mlp_options: dict = field(default_factory=dict)
    ae_options: dict = field(default_factory=dict)
    QUICK = {"dims": (4, 8), "mlp_epochs": 2, "cnn_epochs": 4, "limit": 300}

    @classmethod
    def build(cls, study: str, given=None, *, quick: bool = False):
        given = dict(given or {})
        if given.get("protocol", "official") != "official":
            given.setdefault("limit", None)     # the quick preset's limit is the official one's
        return super().build(study, given, quick=quick)

    def check(self, study: str) -> None:
        where = f"study {study!r}: option"
        if not self.dims or min(self.dims) < 1:
            raise ConfigError(f"{where} dims = {list(self.dims)}: give code sizes >= 1, e.g. "
                              "[10, 20, 30].")
        if self.protocol != "official" and self.limit is not None:
            raise ConfigError(f"{where} limit = {self.limit}: limit applies to the official "
                              "protocol only; test-5fold uses the whole test set. Drop "
                              "--option limit=... .")
        e = self.ae_epochs
        table = {} if e is None else dict.fromkeys(AUTOENCODERS, e) if isinstance(e, int) else e
        if any(kind not in AUTOENCODERS or not isinstance(n, int) or isinstance(n, bool)
               or n < 1 for kind, n in table.items()):
            raise ConfigError(f"{where} ae_epochs = {json.dumps(e)}: expected a number >= 1 "
                              "or a table like {ae_dense=30, ae_conv=8}.")
        for key in ("folds", "mlp_epochs", "cnn_epochs"):
            value = getattr(self, key)
            if value is not None and value < (2 if key == "folds" else 1):
                raise ConfigError(f"{where} {key} = {value} is not allowed; it must be at least "
                                  f"{2 if key == 'folds' else 1}.")


@STUDIES.register("features")
class Features(Study):
    """Classifiers on pixels, PCA codes, autoencoder codes, and the reference CNN."""

    Options = Options

    @property
    def p(self) -> dict:
        """The resolved settings every step reads (and the result file records)."""
        o, name = self.opts, self.dataset
        cnn_ep, shift = CNN.get(name, (10, 1))
        defaults = AE_EPOCHS["quick" if self.quick else "full"]
        ae_epochs = dict(defaults) if o.ae_epochs is None else defaults | (
            dict.fromkeys(defaults, o.ae_epochs) if isinstance(o.ae_epochs, int)
            else dict(o.ae_epochs))
        return {"dataset": name, "protocol": o.protocol, "dims": list(o.dims),
                "kinds": list(o.kinds), "classifiers": list(o.classifiers),
                "ae_epochs": ae_epochs, "mlp_epochs": o.mlp_epochs,
                "cnn_epochs": o.cnn_epochs if o.cnn_epochs is not None else cnn_ep,
                "cnn_shift": shift, "limit": o.limit, "folds": o.folds, "seed": o.seed,
                "k": 4, "autoencoders": AUTOENCODERS, "ae_loss": "mse", "ae_batch_size": 128,
                "mlp_options": dict(o.mlp_options), "ae_options": dict(o.ae_options)}

    def plan(self) -> list[PlannedRun]:
        p = self.p
        self.pool, self.splits = _splits(p, self.progress)
        return [PlannedRun(_run_name(kind, d, fold), self._ae_config(kind, d, fold))
                for fold in self._folds() for kind in p["kinds"] if kind in AUTOENCODERS
                for d in p["dims"]]

    def _folds(self) -> list[int | None]:
        return [None] if self.opts.protocol == "official" else list(range(len(self.splits)))

    def _ae_config(self, kind: str, d: int, fold: int | None) -> RunConfig:
        p = self.p
        data = {"name": p["dataset"], "val_fraction": 0.0}
        data |= {"limit": p["limit"], "subset": "first"} if fold is None else {
            "folds": p["folds"], "fold": fold + 1, "pool": "test"}
        return RunConfig.from_dict({
            "name": f"features-{_run_name(kind, d, fold)}", "data": data,
            "model": {**AUTOENCODERS[kind], **p["ae_options"], "latent_dim": d},
            "loss": {"name": p["ae_loss"]},
            "train": {"epochs": p["ae_epochs"][kind], "batch_size": p["ae_batch_size"],
                      "lr": 1e-3, "seed": p["seed"]}})

    def score(self, runs: dict[str, Path]) -> Results:
        p, out_dir = self.p, self.out_dir
        label = "official" if p["protocol"] == "official" else \
            f"{p['dataset']}-test-{p['folds']}fold"
        records, self.predictions, extra = [], {}, {}
        t0 = time.perf_counter()
        for fold_id, (tr, te) in zip(self._folds(), self.splits, strict=True):
            for kind in p["kinds"]:
                result = _cached_kind(out_dir, kind, fold_id, p, self.pool, tr, te,
                                      self.progress, runs)
                extra[kind if fold_id is None else f"{kind}-fold{fold_id}"] = result["extra"]
                for r in result["results"]:
                    records.append({"features": kind, "dim": r["dim"],
                                    "classifier": r["classifier"], "accuracy": r["accuracy"],
                                    "protocol": label, "fold": fold_id})
                    key = (kind, r["dim"], r["classifier"])
                    self.predictions.setdefault(key, []).append((te, np.asarray(r["y_pred"])))
        self.label, self.details = label, extra
        return Results(records, settings=p | {"protocol_label": label},
                       extra={"seconds": time.perf_counter() - t0, "details": extra,
                              "summary": summarize(records)})

    def report(self, results: Results):
        return report_sections(self.out_dir, self.pool, self.p, self.label, results.records,
                               results.extra["summary"], self.predictions, self.details)

    def title(self) -> str:
        return f"Codes as features ({self.dataset})"

    def subtitle(self, command: str) -> str:
        return f"protocol: {self.label}"


def _run_name(kind: str, d: int, fold: int | None) -> str:
    return f"{kind}-d{d}-{'official' if fold is None else f'fold{fold}'}"


def _splits(p: dict, progress):
    """The image pool (x_all, y_all, class_names, image_shape) and one (train indices, test
    indices) pair per fold. For ``official`` the pool is train + test concatenated."""
    name = p["dataset"]
    if p["protocol"] == "official":
        try:
            data = load_dataset(name, progress=progress)
        except DataError as e:
            raise DataError(f"{e} Without the training images, run the study with --option "
                            "protocol=test-5fold (k-fold on the official test set).") from e
        if len(data.x_train) == 0:
            raise DataError(f"dataset {name!r} has no training images here; run with --option "
                            "protocol=test-5fold.")
        n_tr = min(len(data.x_train), p["limit"] or len(data.x_train))
        x_all = np.concatenate([data.x_train[:n_tr], data.x_test])
        y_all = np.concatenate([data.y_train[:n_tr], data.y_test])
        folds = [(np.arange(n_tr), np.arange(n_tr, len(x_all)))]
    else:
        data = load_dataset(name, progress=progress, splits=("test",))
        x_all, y_all = data.x_test, data.y_test
        folds = stratified_kfold(y_all, p["folds"], seed=p["seed"])
    pool = SimpleNamespace(x_all=x_all, y_all=y_all, class_names=list(data.class_names),
                           image_shape=data.image_shape)
    return pool, folds


def _cached_kind(out_dir: Path, kind: str, fold, p: dict, data, tr, te, progress,
                 runs: dict[str, Path]) -> dict:
    """One kind of features on one fold: every (dim, classifier) accuracy and prediction,
    reused from ``cache/`` when it was computed with the same settings. Autoencoders are
    cached per code size (one training each), so a sweep can be run a few sizes at a time."""
    keys = ["dataset", "protocol", "limit", "folds", "seed"]
    keys += {"pixels": ["classifiers", "mlp_epochs", "k"], "pca": ["dims", "classifiers",
             "mlp_epochs", "k"], "cnn": ["cnn_epochs", "cnn_shift"]}.get(
        kind, ["classifiers", "mlp_epochs", "k", "ae_loss", "ae_batch_size"])
    settings = {k: p[k] for k in keys} | {"kind": kind, "fold": fold}
    # Only non-default options enter the key, so results cached before they existed stay valid.
    settings |= {k: p[k] for k in ("mlp_options", "ae_options")
                 if p[k] and (k == "mlp_options" or kind in AUTOENCODERS)}
    tag = "official" if fold is None else f"fold{fold}"
    if kind not in AUTOENCODERS:
        return _cached(out_dir / "cache" / f"{kind}-{tag}.json", settings,
                       lambda: _compute(kind, fold, p, data, tr, te, out_dir, progress, runs))
    settings |= {"model": AUTOENCODERS[kind], "ae_epochs": p["ae_epochs"][kind]}
    parts = [_cached(out_dir / "cache" / f"{kind}-d{d}-{tag}.json", settings | {"dim": d},
                     lambda d=d: _compute(kind, fold, p | {"dims": [d]}, data, tr, te,
                                          out_dir, progress, runs))
             for d in p["dims"]]
    extra = {"ae_test_mse": {}, "ae_train_seconds": {}, "seconds": 0.0}
    for part in parts:
        for key in ("ae_test_mse", "ae_train_seconds"):
            extra[key] |= part["extra"][key]
        extra["seconds"] += part["extra"]["seconds"]
    return {"results": [r for part in parts for r in part["results"]], "extra": extra}


def _cached(path: Path, settings: dict, compute) -> dict:
    """``{"settings", "results", "extra"}`` from `path` when its settings match, else from
    ``compute()`` (written to `path`)."""
    if path.is_file():
        cached = json.loads(path.read_text())
        if cached["settings"] == settings:
            log.info("features: reusing %s", path)
            return cached
    log.info("features: computing %s", path.stem)
    t0 = time.perf_counter()
    results, extra = compute()
    extra["seconds"] = time.perf_counter() - t0
    out = {"settings": settings, "results": results, "extra": extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, out)
    return json.loads(path.read_text())     # as a later run reads it (string keys)


def _compute(kind, fold, p, data, tr, te, out_dir, progress, runs) -> tuple[list, dict]:
    x_tr, y_tr = data.x_all[tr], data.y_all[tr]
    x_te, y_te = data.x_all[te], data.y_all[te]
    n_classes = len(data.class_names)
    if kind == "cnn":
        y_pred, extra = _cnn(p, data, fold, x_tr, y_tr, x_te, out_dir, progress)
        return [_result(None, "cnn", y_te, y_pred)], extra
    if kind == "pixels":
        z = {x_tr.shape[1] * x_tr.shape[2] * x_tr.shape[3]: (flat_pixels(x_tr), flat_pixels(x_te))}
        extra = {}
    elif kind == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=max(p["dims"]), random_state=p["seed"]).fit(flat_pixels(x_tr))
        c_tr, c_te = pca.transform(flat_pixels(x_tr)), pca.transform(flat_pixels(x_te))
        z = {d: (c_tr[:, :d], c_te[:, :d]) for d in p["dims"]}
        extra = {"explained_variance": {d: float(pca.explained_variance_ratio_[:d].sum())
                                        for d in p["dims"]}}
    else:
        z, extra = {}, {"ae_test_mse": {}, "ae_train_seconds": {}}
        for d in p["dims"]:
            # the codes of the autoencoder's own run folder (trained on x_tr, without labels)
            run = runs[_run_name(kind, d, fold)]
            _, model = load_run(run)
            z[d] = (encode(model, x_tr, batch_size=1024), encode(model, x_te, batch_size=1024))
            metrics = read_json(run / "metrics.json", "run metrics")
            extra["ae_test_mse"][str(d)] = metrics["test_mse"]
            extra["ae_train_seconds"][str(d)] = metrics["train_seconds"]
    results = []
    for d, (z_tr, z_te) in z.items():
        for clf in p["classifiers"]:
            # PCA codes go to k-NN as they are (the KMNIST paper's PCA + 4-NN); pixels are in
            # [0, 1]; every other (classifier, code) pair gets standardized codes.
            raw = kind == "pixels" or (kind == "pca" and clf == "knn")
            a, b = (z_tr, z_te) if raw else standardize(z_tr, z_te)
            y_pred = fit_predict(clf, a, y_tr, b, n_classes=n_classes, seed=p["seed"], k=p["k"],
                                 mlp_epochs=p["mlp_epochs"], mlp_kwargs=p["mlp_options"])
            results.append(_result(d, clf, y_te, y_pred))
            log.info("features: %s d=%s %s fold %s accuracy %.4f", kind, d, clf, fold,
                     results[-1]["accuracy"])
    return results, extra


def _result(dim, clf, y_te, y_pred) -> dict:
    return {"dim": dim, "classifier": clf, "accuracy": float(np.mean(y_pred == y_te)),
            "y_pred": np.asarray(y_pred).astype(int).tolist()}


def _cnn(p, data, fold, x_tr, y_tr, x_te, out_dir, progress):
    """The reference CNN trained end to end: for the official protocol the cached judge run
    (`aelab.judge.judge_run`, shared with the generation studies' folder layout); per fold a
    fresh one."""
    if fold is None:
        run = judge_run(p["dataset"], out_dir / "cnn", epochs=p["cnn_epochs"],
                        shift=p["cnn_shift"], seed=p["seed"], limit=p["limit"],
                        progress=progress)
        metrics = json.loads((run / "metrics.json").read_text())
        return predict(load_judge(run), x_te), {"train_seconds": metrics["train_seconds"],
                                                "epochs": p["cnn_epochs"]}
    model = create_classifier("cnn", data.image_shape, len(data.class_names))
    t0 = time.perf_counter()
    train_classifier(model, x_tr, y_tr, epochs=p["cnn_epochs"], shift=p["cnn_shift"],
                     seed=p["seed"])
    return predict(model, x_te), {"train_seconds": time.perf_counter() - t0,
                                  "epochs": p["cnn_epochs"]}


def summarize(records: list[dict]) -> list[dict]:
    """Mean, standard deviation (over folds; 0 for one) and count per (features, dim,
    classifier), in the order first seen."""
    groups: dict[tuple, list[float]] = {}
    for r in records:
        groups.setdefault((r["features"], r["dim"], r["classifier"]), []).append(r["accuracy"])
    return [{"features": f, "dim": d, "classifier": c, "accuracy": float(np.mean(a)),
             "std": float(np.std(a, ddof=1)) if len(a) > 1 else 0.0, "folds": len(a)}
            for (f, d, c), a in groups.items()]
