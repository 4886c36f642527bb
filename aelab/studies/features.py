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
classifiers then see the codes of the same images with their labels. Intermediate results
are cached per (features, fold) in ``cache/`` with their settings, so a study can be run in
pieces (``--option kinds=[cnn]``) and a later full run only adds what is missing.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from ..config import LossConfig, TrainConfig
from ..data import load_dataset, stratified_kfold
from ..errors import ConfigError, DataError
from ..evaluate.classification import CLASSIFIERS, fit_predict, standardize
from ..judge import judge_run, load_judge
from ..losses import build_objective
from ..models import create_model
from ..models.classifier import create_classifier
from ..train import Batches, fit, resolve_device, seed_everything, write_json
from ..train.classify import predict, train_classifier
from . import STUDIES
from ._shared import flat_pixels, study_results
from .features_report import write_report

log = logging.getLogger(__name__)

KINDS = ("pixels", "pca", "ae_dense", "ae_conv", "cnn")
AUTOENCODERS = {"ae_dense": {"name": "dense", "hidden": [512, 256]},
                # Batch norm: without it this conv AE collapsed to the mean image on MNIST.
                # [16, 32]: on Fashion-MNIST (d = 50, 8 epochs) its codes + MLP reached
                # 90.70 % against 90.91 % with [32, 64], in 251 s instead of 675 s.
                "ae_conv": {"name": "conv", "channels": [16, 32], "batch_norm": True}}
PROTOCOLS = ("official", "test-5fold")
FULL = {"dataset": "mnist", "dims": (10, 20, 30, 40, 50), "kinds": KINDS,
        "ae_epochs": {"ae_dense": 30, "ae_conv": 8}, "mlp_epochs": 20, "limit": None}
QUICK = {"dataset": "digits", "dims": (4, 8), "kinds": KINDS,
         "ae_epochs": {"ae_dense": 2, "ae_conv": 2}, "mlp_epochs": 2, "limit": 300}
# Epochs and random shift (pixels) of the reference CNN per dataset; 10 / 1 otherwise.
CNN = {"mnist": (8, 2), "fashion_mnist": (15, 1)}


@STUDIES.register("features")
def features(out_dir: Path, *, quick: bool = False, dataset: str | None = None, progress=None,
             callbacks=(), protocol: str = "official", kinds: list | None = None,
             classifiers: list | None = None, dims: list | None = None, folds: int = 5,
             ae_epochs: int | dict | None = None, mlp_epochs: int | None = None,
             cnn_epochs: int | None = None, limit: int | None = None, seed: int = 0,
             mlp_options: dict | None = None, ae_options: dict | None = None) -> Path:
    """Run the study into `out_dir`; return ``report.html``. Also writes ``results.json``.

    Options: `protocol` (official | test-5fold), `kinds` (subset of pixels, pca, ae_dense,
    ae_conv, cnn; default all), `classifiers` (logistic, knn, mlp), `dims` ([10, 20, 30, 40,
    50]), `folds` (5, for test-5fold), `ae_epochs` (one number for every autoencoder, or a
    table such as {ae_dense=30, ae_conv=8}, the defaults), `mlp_epochs` (20),
    `cnn_epochs` (mnist 8, fashion_mnist 15, else 10), `limit` (training images of the
    official protocol, first ones; default all), `seed`, `mlp_options` (MLP constructor
    options for every kind of features, e.g. {dropout=0.2}), `ae_options` (autoencoder
    constructor options over the defaults, e.g. {activation="tanh"}).
    """
    base = QUICK if quick else FULL
    name = dataset or base["dataset"]
    cnn_ep, shift = CNN.get(name, (10, 1))
    as_list = lambda v: [v] if isinstance(v, str | int) else list(v)  # noqa: E731
    p = {"dataset": name, "protocol": protocol, "dims": as_list(dims or base["dims"]),
         "kinds": as_list(kinds or base["kinds"]),
         "classifiers": as_list(classifiers or CLASSIFIERS),
         "ae_epochs": _ae_epochs(ae_epochs, base["ae_epochs"]), "mlp_epochs": mlp_epochs or
         base["mlp_epochs"], "cnn_epochs": cnn_epochs or (4 if quick else cnn_ep),
         "cnn_shift": shift,
         "limit": limit or (base["limit"] if protocol == "official" else None),
         "folds": folds, "seed": seed,
         "k": 4, "autoencoders": AUTOENCODERS, "ae_loss": "mse", "ae_batch_size": 128,
         "mlp_options": dict(mlp_options or {}), "ae_options": dict(ae_options or {})}
    _check(p)
    out_dir = Path(out_dir)
    data, splits = _splits(p, progress)
    label = "official" if protocol == "official" else f"{name}-test-{folds}fold"
    records, predictions, extra = [], {}, {}
    t0 = time.perf_counter()
    for fold, (tr, te) in enumerate(splits):
        fold_id = None if protocol == "official" else fold
        for kind in p["kinds"]:
            result = _cached_kind(out_dir, kind, fold_id, p, data, tr, te, progress)
            extra[kind if fold_id is None else f"{kind}-fold{fold_id}"] = result["extra"]
            for r in result["results"]:
                records.append({"features": kind, "dim": r["dim"], "classifier": r["classifier"],
                                "accuracy": r["accuracy"], "protocol": label, "fold": fold_id})
                key = (kind, r["dim"], r["classifier"])
                predictions.setdefault(key, []).append((te, np.asarray(r["y_pred"])))
    summary = summarize(records)
    settings = {k: v for k, v in p.items()} | {"protocol_label": label}
    given = {"protocol": None if protocol == "official" else protocol, "kinds": kinds,
             "classifiers": classifiers, "dims": dims, "folds": None if folds == 5 else folds,
             "ae_epochs": ae_epochs, "mlp_epochs": mlp_epochs, "cnn_epochs": cnn_epochs,
             "limit": limit, "seed": seed or None, "mlp_options": mlp_options,
             "ae_options": ae_options}
    options = f" --out {out_dir}" + "".join(f" --option '{k}={_cli_value(v)}'"
                                            for k, v in given.items() if v is not None)
    write_json(out_dir / "results.json", study_results(
        "features", name, records, quick=quick, settings=settings, options=options,
        extra={"seconds": time.perf_counter() - t0, "details": extra, "summary": summary}))
    return write_report(out_dir, data, p, label, records, summary, predictions, extra)


def _cli_value(v) -> str:
    """`v` as TOML after ``--option key=`` (lists ``["a",1]``, tables ``{k=v}``)."""
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ",".join(_cli_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(f"{k}={_cli_value(x)}" for k, x in v.items()) + "}"
    return str(v)


def _ae_epochs(given, defaults: dict) -> dict:
    """Epochs per autoencoder kind: `given` is None, one number for all, or a partial table."""
    if given is None:
        return dict(defaults)
    table = dict.fromkeys(defaults, given) if isinstance(given, int) else dict(given)
    for kind, epochs in table.items():
        if kind not in AUTOENCODERS or not isinstance(epochs, int) or epochs < 1:
            raise ConfigError(f"ae_epochs: expected a number >= 1 or a table like "
                              f"{{ae_dense=30, ae_conv=8}}; got {given!r}.")
    return defaults | table


def _check(p: dict) -> None:
    for key in ("kinds", "classifiers", "dims"):
        if not all(isinstance(v, int if key == "dims" else str) for v in p[key]):
            raise ConfigError(f"{key}: expected a list, e.g. --option '{key}=[\"pca\", "
                              f"\"cnn\"]' (TOML strings need quotes); got {p[key]!r}.")
    if p["protocol"] not in PROTOCOLS:
        raise ConfigError(f"protocol: got {p['protocol']!r}; choose from {', '.join(PROTOCOLS)}.")
    for key, allowed in (("kinds", KINDS), ("classifiers", CLASSIFIERS)):
        bad = [v for v in p[key] if v not in allowed]
        if bad:
            raise ConfigError(f"{key}: {bad[0]!r} is not known; choose from {', '.join(allowed)} "
                              f"(on the command line: --option '{key}=[\"{allowed[0]}\"]').")
    if not p["dims"] or min(p["dims"]) < 1:
        raise ConfigError(f"dims: give code sizes >= 1, e.g. [10, 20, 30]; got {p['dims']}.")
    if p["protocol"] != "official" and p["limit"] is not None:
        raise ConfigError("limit applies to the official protocol only; test-5fold uses the "
                          "whole test set. Drop --option limit=... .")


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


def _cached_kind(out_dir: Path, kind: str, fold, p: dict, data, tr, te, progress) -> dict:
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
                       lambda: _compute(kind, fold, p, data, tr, te, out_dir, progress))
    settings |= {"model": AUTOENCODERS[kind], "ae_epochs": p["ae_epochs"][kind]}
    parts = [_cached(out_dir / "cache" / f"{kind}-d{d}-{tag}.json", settings | {"dim": d},
                     lambda d=d: _compute(kind, fold, p | {"dims": [d]}, data, tr, te,
                                          out_dir, progress))
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


def _compute(kind, fold, p, data, tr, te, out_dir, progress) -> tuple[list, dict]:
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
            z[d], mse, secs = _autoencoder_codes(kind, d, p, x_tr, x_te)
            extra["ae_test_mse"][str(d)], extra["ae_train_seconds"][str(d)] = mse, secs
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


def _autoencoder_codes(kind, d, p, x_tr, x_te):
    """Train the autoencoder of `kind` with code size d on x_tr (no labels); return the codes
    of x_tr and x_te, its test MSE and its training seconds."""
    device = resolve_device("auto")
    seed_everything(p["seed"])
    spec = dict(AUTOENCODERS[kind]) | p["ae_options"]
    model = create_model(spec.pop("name"), input_shape=x_tr.shape[1:], latent_dim=d,
                         **spec).to(device)
    cfg = TrainConfig(epochs=p["ae_epochs"][kind], batch_size=p["ae_batch_size"], lr=1e-3,
                      seed=p["seed"])
    t0 = time.perf_counter()
    fit(model, build_objective(LossConfig(name=p["ae_loss"]), model),
        Batches(x_tr, batch_size=cfg.batch_size, shuffle=True, seed=p["seed"], device=device),
        None, cfg, device=device)
    seconds = time.perf_counter() - t0
    model.eval()
    codes, sq = [], 0.0
    with torch.no_grad():
        for x in (x_tr, x_te):
            zs = []
            for xb, _ in Batches(x, batch_size=1024, device=device):
                z = model.encode(xb)
                zs.append(z.cpu())
                if x is x_te:
                    sq += float(((torch.sigmoid(model.decode(z)) - xb) ** 2).sum())
            codes.append(torch.cat(zs).numpy())
    return (codes[0], codes[1]), sq / x_te.size, seconds


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
