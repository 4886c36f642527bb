"""Typed run configuration: frozen dataclasses, built from TOML/JSON, validated in one place.

A run config has four sections, each a dataclass::

    [data]   name, limit, test_limit, val_fraction, data_dir, options (folds, fold, pool:
             one fold of a cross-validation), stratify, train_split, binarize, subset,
             per_class
    [model]  name, then the model constructor's keyword arguments (latent_dim, hidden, ...)
    [loss]   name (mse | bce | mse_cosine), cosine_weight, kl_weight, l1_code
    [train]  epochs, batch_size, lr, optimizer, weight_decay, momentum, seed, device,
             precision, patience, min_delta, grad_clip, restore_best, loggers, tracking_uri

Every error names the dotted key, the value, and what is allowed. Unknown keys are errors
that suggest the closest known key. Nothing here has side effects.

Example
-------
>>> cfg = RunConfig.from_dict({"model": {"name": "dense", "latent_dim": 8}})
>>> cfg.model.kwargs["latent_dim"], cfg.train.epochs
(8, 10)
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .precision import PRECISIONS

OPTIMIZERS = ("adam", "adamw", "sgd", "adadelta")
RECONSTRUCTION_LOSSES = ("mse", "bce", "mse_cosine")
DEVICES = ("auto", "cpu", "cuda")
LOGGERS = ("tensorboard", "mlflow")   # aelab/train/loggers.py; the "tracking" pip extra
POOLS = ("train", "test")          # the split a cross-validation deals into folds
TRAIN_SPLITS = ("train", "test")   # the split a run trains on (test: the test-only protocol)
SUBSETS = ("random", "first")      # how data.limit picks the training images


def _check_keys(section: str, given: Mapping[str, Any], allowed: list[str]) -> None:
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" Did you mean '{section}.{close[0]}'?" if close else ""
            raise ConfigError(
                f"unknown config key '{section}.{key}'.{hint} "
                f"Allowed keys in [{section}]: {', '.join(allowed)}."
            )


def _type_name(types: tuple[type, ...]) -> str:
    return " or ".join("a number" if t is float else t.__name__ for t in types)


def _get(section: str, d: Mapping[str, Any], key: str, types: tuple[type, ...], default: Any,
         *, low: float | None = None, high: float | None = None, choices: tuple = (),
         optional: bool = False) -> Any:
    """Read one value, checking its type, range and choices; errors name `section.key`."""
    path = f"{section}.{key}"
    value = d.get(key, default)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{path} must be set; got nothing.")
    # bool is an int in Python; never accept it where a number is meant.
    if isinstance(value, bool) and bool not in types:
        raise ConfigError(f"{path} must be {_type_name(types)}; got {value!r}.")
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, types):
        raise ConfigError(f"{path} must be {_type_name(types)}; got {value!r} "
                          f"({type(value).__name__}).")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path} must be finite; got {value!r}.")
    if choices and value not in choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{path} = {value!r} is not allowed.{hint} "
                          f"Allowed: {', '.join(map(str, choices))}.")
    if low is not None and value < low:
        raise ConfigError(f"{path} must be >= {low}; got {value!r}.")
    if high is not None and value > high:
        raise ConfigError(f"{path} must be <= {high}; got {value!r}.")
    return value


@dataclass(frozen=True)
class DataConfig:
    """Which dataset to load and how much of it.

    `limit` caps the training images (taken after a seeded shuffle), `test_limit` the test
    images; `val_fraction` of the training images is held out (stratified, seeded by
    `train.seed`) for validation and early stopping. `options` go to the dataset recipe
    (e.g. ``path``, ``size``, ``mode`` for ``image_folder``).

    `folds` and `fold` make the run fold `fold` (1-based) of a stratified k-fold
    cross-validation (`aelab cv`): the `pool` split (``train``, or the official ``test`` set)
    is capped by `limit`, dealt into `folds` folds seeded by `train.seed`
    (`aelab.data.stratified_kfold`), and the run trains on the other folds (less
    `val_fraction`) and is tested on fold `fold`; `test_limit` does not apply then.

    `stratify` (default true) keeps the class proportions in the validation split; false
    draws it without looking at the labels (the unsupervised studies: priors, clustering,
    vae). `train_split` is the split the run trains and validates on: ``train``, or ``test``
    for the test-only protocol of a dataset whose training images are missing (KMNIST in the
    project's mirror): it trains on the test images, less `val_fraction`, and is tested on
    them too. `binarize` turns the images into 0/255 once, each pixel on with probability
    intensity / 255 (binarized MNIST, `aelab.data.binarize`): the training images after
    `limit`, seeded by ``train.seed``, and the test images after `test_limit`, seeded by
    ``train.seed + 1``. `subset` is how `limit` picks the training images: ``random`` (a
    seeded shuffle) or ``first`` (the first `limit` images, in the dataset's order).
    `per_class` keeps that many training images of each class, drawn (seeded by
    ``train.seed``: `aelab.data.per_class_subset`) before `limit` applies (a few-shot
    training set; the augmentation study).
    """

    name: str = "digits"
    limit: int | None = None
    test_limit: int | None = None
    val_fraction: float = 0.1
    data_dir: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    folds: int | None = None
    fold: int | None = None
    pool: str = "train"
    stratify: bool = True
    train_split: str = "train"
    binarize: bool = False
    subset: str = "random"
    per_class: int | None = None

    # Keys written to config.json only when they differ from these defaults, so every run
    # config from before they existed (and with it the reuse rule) reads as before.
    PROTOCOL_DEFAULTS = {"stratify": True, "train_split": "train", "binarize": False,
                         "subset": "random", "per_class": None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DataConfig:
        _check_keys("data", d, [f.name for f in dataclasses.fields(cls)])
        options = d.get("options", {})
        if not isinstance(options, Mapping):
            raise ConfigError(f"data.options must be a table of dataset options; got {options!r}.")
        return cls(
            name=_get("data", d, "name", (str,), cls.name),
            limit=_get("data", d, "limit", (int,), None, low=1, optional=True),
            test_limit=_get("data", d, "test_limit", (int,), None, low=1, optional=True),
            val_fraction=_get("data", d, "val_fraction", (float,), cls.val_fraction,
                              low=0.0, high=0.9),
            data_dir=_get("data", d, "data_dir", (str,), None, optional=True),
            options=dict(options),
            **_fold_keys(d),
            **_protocol_keys(d),
        )

    def to_dict(self) -> dict[str, Any]:
        """The keys as a table; the cross-validation keys only in a fold's config and the
        protocol keys only where they differ from their defaults, so that every other run's
        config.json (and with it the reuse rule) is as before they existed."""
        d = dataclasses.asdict(self)
        if self.folds is None:
            for key in ("folds", "fold", "pool"):
                del d[key]
        for key, default in self.PROTOCOL_DEFAULTS.items():
            if d[key] == default:
                del d[key]
        return d


def _protocol_keys(d: Mapping[str, Any]) -> dict[str, Any]:
    """`DataConfig`'s protocol keys: stratify, train_split, binarize, subset and per_class."""
    train_split = _get("data", d, "train_split", (str,), "train", choices=TRAIN_SPLITS)
    if train_split == "test" and d.get("folds") is not None:
        raise ConfigError("data.train_split = 'test' trains on the test images; a "
                          "cross-validation picks its split with data.pool instead. Use "
                          "data.pool = 'test' and drop data.train_split.")
    return {"stratify": _get("data", d, "stratify", (bool,), True),
            "train_split": train_split,
            "binarize": _get("data", d, "binarize", (bool,), False),
            "subset": _get("data", d, "subset", (str,), "random", choices=SUBSETS),
            "per_class": _get("data", d, "per_class", (int,), None, low=1, optional=True)}


def _fold_keys(d: Mapping[str, Any]) -> dict[str, Any]:
    """`DataConfig`'s cross-validation keys: folds, fold and pool, checked together."""
    folds = _get("data", d, "folds", (int,), None, low=2, optional=True)
    fold = _get("data", d, "fold", (int,), None, low=1, high=folds, optional=True)
    pool = _get("data", d, "pool", (str,), "train", choices=POOLS)
    if (folds is None) != (fold is None):
        raise ConfigError(f"data.fold and data.folds go together (fold 1 to folds of a "
                          f"cross-validation); got fold = {fold!r}, folds = {folds!r}. Set "
                          "both or neither.")
    if folds is None and pool != "train":
        raise ConfigError(f"data.pool = {pool!r} picks the split a cross-validation deals into "
                          "folds; it needs data.folds and data.fold (see `aelab cv --pool`).")
    if folds is not None and d.get("test_limit") is not None:
        raise ConfigError("data.test_limit does not apply to a cross-validation fold, which is "
                          "tested on all of its images; drop it.")
    return {"folds": folds, "fold": fold, "pool": pool}


@dataclass(frozen=True)
class ModelConfig:
    """A registered model name and its constructor's keyword arguments.

    The keyword arguments are checked against the constructor's signature when the model
    is built (`aelab.models.create_model`), so a misspelt key is an error there.
    """

    name: str = "conv"
    kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        kwargs = {k: v for k, v in d.items() if k != "name"}
        return cls(name=_get("model", d, "name", (str,), cls.name), kwargs=kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.kwargs}


@dataclass(frozen=True)
class LossConfig:
    """The objective: a reconstruction term plus optional weighted regularizers.

    `name` picks the reconstruction term (mse | bce | mse_cosine). `cosine_weight` weighs
    the cosine-similarity bonus of mse_cosine. `kl_weight` weighs the VAE KL term (default:
    1 for models with a Gaussian encoder, otherwise unset). `l1_code` weighs L1 activity
    sparsity on the code (0 = off).

    `prior` (swiss_roll | gaussian | gmm; unset = none) adds `divergence_weight` (lambda)
    times a divergence between the batch of codes and fresh prior samples: `divergence`
    cs (Cauchy-Schwarz) or ed (Euclidean / MMD), Gaussian kernel of size `sigma` * sqrt(2).
    `prior_options` go to the prior (e.g. { n_components = 10, layout = "sphere" }; its `dim`
    defaults to the model's latent_dim); `prior_seed` seeds the prior's sampling.
    """

    name: str = "mse"
    cosine_weight: float = 0.1
    kl_weight: float | None = None
    l1_code: float = 0.0
    prior: str | None = None
    prior_options: dict[str, Any] = field(default_factory=dict)
    divergence: str = "cs"
    divergence_weight: float = 0.1
    sigma: float = 1.0
    prior_seed: int = 0

    # Plain class attributes (no annotation), so not dataclass fields.
    DIVERGENCES = ("cs", "ed")
    PRIOR_KEYS = ("prior_options", "divergence", "divergence_weight", "sigma", "prior_seed")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LossConfig:
        _check_keys("loss", d, [f.name for f in dataclasses.fields(cls)])
        prior = _get("loss", d, "prior", (str,), None, optional=True)
        options = d.get("prior_options", {})
        if prior is None:
            # A saved config repeats the defaults, so only a changed value is an error.
            given = [k for k in cls.PRIOR_KEYS if k in d and d[k] not in (
                None, {}, getattr(cls, k, None))]
            if given:
                raise ConfigError(f"loss.{given[0]} is set but loss.prior is not; set "
                                  "loss.prior (swiss_roll, gaussian or gmm) or drop it.")
        else:
            from .priors import PRIORS, prior_option_names  # lazy: no torch at config import

            _get("loss", d, "prior", (str,), None, choices=tuple(PRIORS.names()))
            if not isinstance(options, Mapping):
                raise ConfigError(f"loss.prior_options must be a table of the prior's options "
                                  f"(e.g. {{ n_components = 10 }}); got {options!r}.")
            _check_keys("loss.prior_options", options, prior_option_names(prior))
        return cls(
            name=_get("loss", d, "name", (str,), cls.name, choices=RECONSTRUCTION_LOSSES),
            cosine_weight=_get("loss", d, "cosine_weight", (float,), cls.cosine_weight, low=0.0),
            kl_weight=_get("loss", d, "kl_weight", (float,), None, low=0.0, optional=True),
            l1_code=_get("loss", d, "l1_code", (float,), cls.l1_code, low=0.0),
            prior=prior,
            prior_options=dict(options),
            divergence=_get("loss", d, "divergence", (str,), cls.divergence,
                            choices=cls.DIVERGENCES),
            divergence_weight=_get("loss", d, "divergence_weight", (float,),
                                   cls.divergence_weight, low=0.0),
            sigma=_get("loss", d, "sigma", (float,), cls.sigma, low=1e-6),
            prior_seed=_get("loss", d, "prior_seed", (int,), cls.prior_seed, low=0),
        )


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. `patience` (epochs without a validation improvement of at least
    `min_delta`) turns on early stopping; `restore_best` then keeps the best epoch's weights.
    `loggers` (tensorboard, mlflow) track the run beyond history.csv; `tracking_uri` is
    MLflow's tracking URI (unset: the file store ./mlruns). `device` is auto (CUDA when
    there is one), cpu, cuda or cuda:N; `precision` is fp32, bf16 (autocast; weights,
    optimizer and loss stay fp32) or auto (bf16 where it pays: see `aelab.precision`)."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    patience: int | None = None
    min_delta: float = 0.0
    grad_clip: float | None = None
    restore_best: bool = True
    loggers: tuple[str, ...] = ()
    tracking_uri: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        _check_keys("train", d, [f.name for f in dataclasses.fields(cls)])
        g = lambda key, types, **kw: _get("train", d, key, types, getattr(cls, key), **kw)  # noqa: E731
        return cls(
            epochs=g("epochs", (int,), low=1),
            batch_size=g("batch_size", (int,), low=1),
            lr=g("lr", (float,), low=0.0),
            optimizer=g("optimizer", (str,), choices=OPTIMIZERS),
            weight_decay=g("weight_decay", (float,), low=0.0),
            momentum=g("momentum", (float,), low=0.0, high=1.0),
            seed=g("seed", (int,), low=0),
            device=check_device(g("device", (str,)), "train.device"),
            precision=g("precision", (str,), choices=PRECISIONS),
            patience=_get("train", d, "patience", (int,), None, low=1, optional=True),
            min_delta=g("min_delta", (float,), low=0.0),
            grad_clip=_get("train", d, "grad_clip", (float,), None, low=0.0, optional=True),
            restore_best=g("restore_best", (bool,)),
            loggers=_loggers(d.get("loggers", ())),
            tracking_uri=_tracking_uri(d),
        )


def check_device(name: str, key: str) -> str:
    """`name` if it names a device (auto, cpu, cuda, cuda:N); else a ConfigError naming
    `key`."""
    if name in DEVICES or (name.startswith("cuda:") and name[5:].isdigit()):
        return name
    raise ConfigError(f"{key} = {name!r} is not a device: use one of {', '.join(DEVICES)} "
                      "or cuda:N (N a GPU's index).")


def _tracking_uri(d: Mapping[str, Any]) -> str | None:
    uri = _get("train", d, "tracking_uri", (str,), None, optional=True)
    if uri is not None and "mlflow" not in d.get("loggers", ()):
        raise ConfigError(f"train.tracking_uri = {uri!r} is set but train.loggers has no "
                          "'mlflow'; add it (loggers = [\"mlflow\"]) or drop tracking_uri.")
    return uri


def _loggers(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ConfigError(f"train.loggers must be a list of logger names (e.g. "
                          f"[\"tensorboard\"]); got {value!r}. Allowed: {', '.join(LOGGERS)}.")
    names = tuple(_get("train", {"loggers": v}, "loggers", (str,), None, choices=LOGGERS)
                  for v in value)
    if len(set(names)) != len(names):
        raise ConfigError(f"train.loggers names a logger twice: {list(value)!r}.")
    return names


@dataclass(frozen=True)
class CorruptionConfig:
    """One corruption of the training input (``[[corruption]]``): a registered name
    (gaussian, salt_pepper, stripes, block, mask) and its options, checked against the
    corruption's signature. Several ``[[corruption]]`` tables combine in order; none (the
    default) trains a plain autoencoder."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], key: str = "corruption") -> CorruptionConfig:
        if not isinstance(d, Mapping):
            raise ConfigError(f"{key} must be a table like {{ name = \"gaussian\", factor = "
                              f"0.5 }}; got {d!r}.")
        from .corruptions import check_params  # lazy: keeps config free of torch at import

        name = _get(key, d, "name", (str,), None)
        params = {k: v for k, v in d.items() if k != "name"}
        check_params(name, params, key=key)
        return cls(name=name, params=params)

    @staticmethod
    def list_from(value: Any) -> tuple[CorruptionConfig, ...]:
        """``[corruption]`` (one table) or ``[[corruption]]`` (a list of tables)."""
        if isinstance(value, Mapping):
            value = [value] if value else []
        if not isinstance(value, list | tuple):
            raise ConfigError(f"[corruption] must be a table or a list of tables "
                              f"([[corruption]]); got {value!r}.")
        return tuple(CorruptionConfig.from_dict(v, key=f"corruption[{i}]")
                     for i, v in enumerate(value))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.params}


SECTIONS = ("name", "data", "model", "loss", "corruption", "train")


def _check_name(name: str) -> str:
    """A run name becomes a folder under runs/, so it must be a plain name: no separator,
    not ``.``/``..``, not hidden, no control characters."""
    bad = ("/" in name or "\\" in name or name in ("", ".", "..") or name.startswith(".")
           or any(ord(c) < 32 for c in name) or len(name) > 128)
    if bad:
        raise ConfigError(f"name = {name!r} is not a plain run name: it becomes the folder "
                          "runs/<name>, so use letters, digits, '-', '_' (no '/', '\\', '..', "
                          "leading '.', at most 128 characters). Pass --out to choose "
                          "another folder.")
    return name


@dataclass(frozen=True)
class RunConfig:
    """The whole run: a name and the four sections."""

    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    corruption: tuple[CorruptionConfig, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        """Build and validate a config from nested dicts (as read from TOML or JSON).

        Raises
        ------
        ConfigError
            For an unknown section or key (with the closest match), a wrong type, or a value
            out of range; the message names the dotted key.
        """
        if not isinstance(d, Mapping):
            raise ConfigError(f"a run config must be a table of sections; got {type(d).__name__}.")
        _check_keys("config", d, list(SECTIONS))
        for section in ("data", "model", "loss", "train"):
            if not isinstance(d.get(section, {}), Mapping):
                raise ConfigError(f"[{section}] must be a table; got {d[section]!r}.")
        return cls(
            name=_check_name(_get("config", d, "name", (str,), cls.name)),
            data=DataConfig.from_dict(d.get("data", {})),
            model=ModelConfig.from_dict(d.get("model", {})),
            loss=LossConfig.from_dict(d.get("loss", {})),
            train=TrainConfig.from_dict(d.get("train", {})),
            corruption=CorruptionConfig.list_from(d.get("corruption", [])),
        )

    @classmethod
    def from_file(cls, path: str | Path, overrides: list[str] = ()) -> RunConfig:
        """Read a TOML (or JSON) config file, apply ``section.key=value`` overrides, validate."""
        return cls.from_dict(apply_overrides(read_config_file(path), overrides))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "data": self.data.to_dict(),
            "model": self.model.to_dict(),
            "loss": dataclasses.asdict(self.loss),
            "train": dataclasses.asdict(self.train),
            "corruption": [c.to_dict() for c in self.corruption],
        }

    def replace(self, overrides: list[str]) -> RunConfig:
        """A new config with ``section.key=value`` overrides applied and validated."""
        return RunConfig.from_dict(apply_overrides(self.to_dict(), overrides))


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist. Pass a .toml file "
                          "(see the examples in configs/) or leave it out to use the defaults.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text (byte {e.start}: "
                          f"{e.reason}). Save it as UTF-8.") from e
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot parse config file {str(path)!r}: {e}") from e


def parse_value(text: str) -> Any:
    """Parse an override value as a TOML value (numbers, booleans, arrays, quoted strings);
    anything that is not valid TOML is taken as a bare string (so ``model.name=conv`` works)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(items: list[str], *, flag: str = "--set", form: str = "KEY=VALUE",
                      example: str = "train.lr=3e-4") -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--set``, ``--option``, ``--grid``'s points) as a dict, each
    value read by `parse_value`: the one syntax of every command line option that sets a
    value. A string without ``=`` is an error naming `flag` and an `example`."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} expects {form} (e.g. {example}); got {item!r}.")
        out[key.strip()] = parse_value(value.strip())
    return out


def apply_overrides(d: Mapping[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply dotted ``section.key=value`` overrides (the CLI's ``--set``) to a nested dict."""
    out = json.loads(json.dumps(d))  # deep copy of plain data
    for key, value in parse_assignments(overrides, form="section.key=value").items():
        parts = key.split(".")
        if not all(parts):
            raise ConfigError(f"--set expects section.key=value (e.g. train.lr=3e-4); got "
                              f"{key!r}.")
        node = out
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"--set {key}=...: {part!r} is a value, not a section.")
            node = nxt
        node[parts[-1]] = value
    return out
