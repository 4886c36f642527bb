"""A scikit-learn style facade: `Autoencoder`, used like `sklearn.decomposition.PCA`.

>>> import numpy as np
>>> from aelab import Autoencoder
>>> X = np.random.default_rng(0).random((40, 64)).astype(np.float32)   # 40 flat 8x8 images
>>> ae = Autoencoder(latent_dim=4, epochs=2, input_shape=(1, 8, 8), random_state=0)
>>> ae.fit_transform(X).shape, ae.inverse_transform(ae.transform(X)).shape
((40, 4), (40, 64))

It is a thin layer over `aelab.models.create_model`, `aelab.losses.build_objective` and
`aelab.train.fit`: the same models, losses and training loop as `aelab train`, without a run
folder. `__init__` only stores its arguments (so `get_params`, `set_params` and `clone` work);
checks happen in `fit`; fitted state ends in ``_``.

What it accepts as ``X``
------------------------
- ``(n, C, H, W)`` or ``(n, H, W)`` images (one channel is assumed for 3-D arrays);
- ``(n, d)`` rows, reshaped to ``input_shape`` (``(C, H, W)`` or ``(H, W)``) when one is given,
  else read as plain vectors (only the ``dense`` model takes those);
- any finite real numbers (NaN, infinite, complex or sparse input, other ranks, fewer than 2
  samples or 2 features at `fit` are errors, worded as scikit-learn words them).

How it scales ``X`` (``scale``)
-------------------------------
- **pixels** (what ``scale="auto"``, the default, picks for uint8 arrays, integers in
  ``0..255``, booleans and floats in ``[0, 1]``): integers are 8-bit pixel values divided by
  255; the decoder ends in a sigmoid, as in `aelab train`. `inverse_transform` returns floats in
  ``[0, 1]`` and `score` is minus the mean squared error per pixel in that scale.
- **standard** (what ``"auto"`` picks for any other data, e.g. the output of
  ``StandardScaler``; ``scale="standard"`` forces it): `fit` standardizes each feature to mean
  0 and variance 1 (a constant feature is only centred), the decoder's output is linear and the
  loss is the MSE on it (so ``loss`` must be ``"mse"``). `inverse_transform` maps back to the
  input's own scale; `score` is minus the mean squared error in standardized units, so it does
  not depend on the units of the features.
- ``scale="pixels"`` insists on pixel data and raises an error for anything else.

The scaling chosen is ``scaling_`` after `fit`. `transform` returns float32 codes
``(n, code_size)``; `inverse_transform` returns float32 arrays laid out like the ``X`` given to
`fit`. Both `score`s are "higher is better", as `GridSearchCV` expects.

A stochastic network meets scikit-learn's estimator contract: with ``random_state`` set (as
`check_estimator` sets it), training on the CPU is deterministic, so fitting twice gives the
same codes, and `transform` is a pure function of each sample, so it does not depend on the
order or the batching of the rows. `check_estimator` passes with no check failing and none
marked as an expected failure (``tests/test_estimator.py`` asserts it).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .config import LossConfig, TrainConfig
from .errors import DataError, NotFittedError
from .infer import batched
from .losses import build_objective
from .models import create_model
from .train import Batches, fit, resolve_device, seeded


class InputError(DataError, ValueError):
    """``X`` has a shape, type or range the estimator cannot use (a ValueError for sklearn)."""


class EstimatorNotFittedError(NotFittedError, SklearnNotFittedError):
    """`transform` and friends before `fit`; both aelab's and sklearn's NotFittedError."""


class Autoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Autoencoder with the scikit-learn transformer API (fit / transform / inverse_transform).

    Parameters
    ----------
    model : str, default "dense"
        A registered model (`aelab.list_models()`): dense, conv, vae_dense, vae_conv.
    latent_dim : int, default 16
        Size of the code (the analogue of PCA's ``n_components``).
    model_options : dict or None
        Further keyword arguments of the model, e.g. ``{"hidden": [256, 128]}`` (dense) or
        ``{"channels": [16, 32]}`` (conv). None: the model's defaults.
    loss : {"mse", "bce", "mse_cosine"}, default "mse"
    l1_code : float, default 0.0
        Weight of L1 activity sparsity on the code.
    epochs, batch_size, lr, optimizer, weight_decay
        Training settings, as in a run config's ``[train]`` section.
    input_shape : tuple of int or None
        ``(C, H, W)`` or ``(H, W)`` of one image, for flat ``(n, d)`` input.
    scale : {"auto", "pixels", "standard"}, default "auto"
        How `fit` reads X (see the module docstring): "pixels" (uint8, 0..255 integers or
        floats in [0, 1]; sigmoid output), "standard" (any real X, standardized per feature;
        linear output, MSE), or "auto": pixels when X looks like pixels, else standard.
    device : str, default "cpu"
        "cpu", "cuda" or "auto".
    random_state : int or None
        Seed of the weight initialisation and the batch order; None draws one from numpy's
        global generator (not reproducible), as scikit-learn estimators do.

    Attributes
    ----------
    model_ : aelab.models.Autoencoder
        The trained network (eval mode).
    input_shape_ : tuple of int
        ``(C, H, W)`` the model was built for.
    n_features_in_ : int
        Values per sample (``C * H * W``).
    history_ : list of dict
        One row per epoch (``train_recon``, ``train_total``, ``seconds`` ...).
    scaling_ : {"pixels", "standard"}
        How X was read (``scale`` resolved on the training data).
    mean_, scale_ : ndarray of shape (n_features_in_,) or None
        The per-feature mean and standard deviation (1 for a constant feature) of the
        standardization; None for pixels.
    """

    def __init__(self, model: str = "dense", latent_dim: int = 16,
                 model_options: Mapping[str, Any] | None = None, loss: str = "mse",
                 l1_code: float = 0.0, epochs: int = 10, batch_size: int = 64, lr: float = 1e-3,
                 optimizer: str = "adam", weight_decay: float = 0.0,
                 input_shape: Sequence[int] | None = None, scale: str = "auto",
                 device: str = "cpu", random_state: int | None = None):
        self.model = model
        self.latent_dim = latent_dim
        self.model_options = model_options
        self.loss = loss
        self.l1_code = l1_code
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.input_shape = input_shape
        self.scale = scale
        self.device = device
        self.random_state = random_state

    # -- scikit-learn protocol -----------------------------------------------------------

    def fit(self, X, y=None) -> Autoencoder:
        """Train a new model on `X` (labels are ignored); returns self."""
        images, layout, shape, scaling = self._images(X, fitting=True)
        seed = self._seed()
        device = resolve_device(self.device)
        train_cfg = TrainConfig.from_dict({
            "epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
            "optimizer": self.optimizer, "weight_decay": self.weight_decay, "seed": seed,
            "device": self.device, "restore_best": False})
        loss_cfg = LossConfig.from_dict({"name": self.loss, "l1_code": self.l1_code})
        if scaling.mean is not None:          # standardized data: linear output, MSE on it
            if self.loss != "mse":
                raise InputError(f"loss={self.loss!r} needs pixel data in [0, 1], but X is "
                                 "standardized (its values are not pixels, or scale="
                                 "'standard'); use loss='mse', or pass pixels.")
            loss_cfg = dataclasses.replace(loss_cfg, name="mse_linear")
        options = dict(self.model_options or {})
        if "latent_dim" in options or "input_shape" in options:
            raise InputError("model_options must not hold latent_dim or input_shape; set them "
                             "as the estimator's own parameters (Autoencoder(latent_dim=...)).")
        if shape[1] == 1 and self.model != "dense":   # flat vectors, not images
            raise InputError(
                f"model {self.model!r} needs images, but X is {layout} without input_shape, so "
                f"each row is read as a flat vector of {shape[2]} values. Pass input_shape="
                "(C, H, W), give X as (n, H, W) or (n, C, H, W), or use model='dense'.")
        with seeded(seed):      # seed the init without touching the global RNG
            net = create_model(self.model, input_shape=shape, latent_dim=self.latent_dim,
                               **options).to(device)
        objective = build_objective(loss_cfg, net)
        batches = _batches(images, self.batch_size, device, shuffle=True, seed=seed)
        result = fit(net, objective, batches, None, train_cfg, device=device)
        self.model_ = net.eval()
        self.input_shape_ = shape
        self.n_features_in_ = math.prod(shape)
        self.history_ = result.history
        self.scaling_ = "pixels" if scaling.mean is None else "standard"
        self.mean_, self.scale_ = scaling.mean, scaling.scale
        self._layout = layout
        with torch.no_grad():
            z = net.encode(next(iter(batches))[0][:1])
        self.code_shape_ = tuple(z.shape[1:])
        return self

    def transform(self, X) -> np.ndarray:
        """Codes of `X`: float32 array (n, code_size)."""
        self._check_fitted()
        images, _, _, _ = self._images(X)
        return batched(lambda x: self.model_.encode(x).flatten(1), images, model=self.model_,
                       batch_size=512).numpy()

    def inverse_transform(self, X) -> np.ndarray:
        """Decode codes (n, code_size) to reconstructions laid out like fit's X: in [0, 1]
        for pixels, on X's own scale for standardized data."""
        self._check_fitted()
        Z = check_array(X, dtype=np.float32, input_name="X")
        if Z.shape[1] != self._n_features_out:
            raise InputError(f"inverse_transform expects codes of shape (n, "
                             f"{self._n_features_out}); got {Z.shape}.")
        x = batched(lambda z: self._output(self.model_.decode(z.view(-1, *self.code_shape_))),
                    Z, model=self.model_, batch_size=512).numpy().reshape(len(Z), -1)
        if self.mean_ is not None:
            x = (x * self.scale_ + self.mean_).astype(np.float32)
        return x.reshape(len(x), *self._layout_shape())

    def score(self, X, y=None) -> float:
        """Minus the mean squared error per value of the reconstructions of `X`, in the [0, 1]
        scale for pixels and in standardized units for standardized data."""
        self._check_fitted()
        images, _, _, _ = self._images(X)
        total, count = 0.0, 0
        with torch.no_grad():
            for x, _ in self._eval_batches(images):
                x_rec = self._output(self.model_(x).x_logits)
                total += float((x_rec - x).pow(2).sum())
                count += x.numel()
        return -total / count

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.allow_nan = False
        return tags

    @property
    def _n_features_out(self) -> int:
        return math.prod(self.code_shape_)

    def _output(self, x_logits: torch.Tensor) -> torch.Tensor:
        """The decoder's output as data: sigmoid for pixels, as it is (linear) when standardized."""
        return torch.sigmoid(x_logits) if self.mean_ is None else x_logits

    # -- input handling ------------------------------------------------------------------

    def _images(self, X, *, fitting: bool = False):
        """X -> (uint8 or float32 array (n, C, H, W), layout name, (C, H, W), scaling)."""
        # At fit, at least 2 samples and 2 features, in scikit-learn's words ("Found array with
        # 1 sample(s) ... while a minimum of 2 is required"); NaN, inf and complex X are refused
        # by check_array in its words too.
        least = 2 if fitting else 1
        X = check_array(X, dtype="numeric", allow_nd=True, input_name="X", estimator=self,
                        ensure_min_samples=least, ensure_min_features=least)
        if X.ndim not in (2, 3, 4):
            raise InputError(f"X must be (n, d) with input_shape, (n, H, W) or (n, C, H, W); "
                             f"got an array of shape {X.shape}.")
        layout = {2: "(n, d)", 3: "(n, H, W)", 4: "(n, C, H, W)"}[X.ndim]
        shape = self._shape_of(X, fitting)
        expected = shape if fitting else self.input_shape_
        if math.prod(shape) != math.prod(expected) or (X.ndim > 2 and shape != expected):
            if X.ndim == 2:
                raise InputError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                                 f"expecting {math.prod(expected)} features as input.")
            raise InputError(f"X holds images of shape {shape}, but the model was fitted on "
                             f"{expected}.")
        images = np.ascontiguousarray(X).reshape(len(X), *expected)
        scaling = (_Scaling.fit(images, self.scale) if fitting
                   else _Scaling(self.mean_, self.scale_))
        return scaling.apply(images), layout, expected, scaling

    def _shape_of(self, X: np.ndarray, fitting: bool) -> tuple[int, int, int]:
        if X.ndim == 4:
            return tuple(X.shape[1:])
        if X.ndim == 3:
            return (1, *X.shape[1:])
        if not fitting:
            return (1, 1, X.shape[1])
        if self.input_shape is None:
            return (1, 1, X.shape[1])
        shape = tuple(self.input_shape)
        shape = (1, *shape) if len(shape) == 2 else shape
        if len(shape) != 3 or not all(isinstance(v, numbers.Integral) and v > 0 for v in shape):
            raise InputError(f"input_shape must be (C, H, W) or (H, W) with positive integers; "
                             f"got {self.input_shape!r}.")
        if math.prod(shape) != X.shape[1]:
            raise InputError(f"input_shape={self.input_shape!r} holds {math.prod(shape)} values, "
                             f"but X has {X.shape[1]} features per row.")
        return shape

    def _layout_shape(self) -> tuple[int, ...]:
        c, h, w = self.input_shape_
        return {"(n, d)": (c * h * w,), "(n, H, W)": (h, w)}.get(self._layout, (c, h, w))

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self)
        except SklearnNotFittedError as e:
            raise EstimatorNotFittedError(str(e)) from None

    def _eval_batches(self, images):
        return _batches(images, 512, next(self.model_.parameters()).device, shuffle=False)

    def _seed(self) -> int:
        if self.random_state is None:
            return int(np.random.randint(0, 2**31 - 1))
        if not isinstance(self.random_state, numbers.Integral) or self.random_state < 0:
            raise InputError(f"random_state must be None or a non-negative integer; got "
                             f"{self.random_state!r}.")
        return int(self.random_state)


SCALES = ("auto", "pixels", "standard")


def _is_pixels(x: np.ndarray) -> bool:
    """uint8 or boolean arrays, integers in 0..255 and floats in [0, 1] are pixel values."""
    if x.dtype == np.uint8 or x.dtype.kind == "b" or x.size == 0:
        return True
    lo, hi = x.min(), x.max()
    return bool(lo >= 0 and hi <= (255 if x.dtype.kind in "iu" else 1))


@dataclass(frozen=True)
class _Scaling:
    """Pixels (mean is None) or a per-feature standardization (mean, scale) of X."""

    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    @classmethod
    def fit(cls, x: np.ndarray, scale: str) -> _Scaling:
        if scale not in SCALES:
            raise InputError(f"scale must be one of {', '.join(map(repr, SCALES))}; "
                             f"got {scale!r}.")
        if scale == "pixels" or (scale == "auto" and _is_pixels(x)):
            return cls()
        flat = x.reshape(len(x), -1).astype(np.float64)
        mean, std = flat.mean(axis=0), flat.std(axis=0)
        # A constant feature (std 0, or rounding noise around it) is centred, not divided.
        constant = std < 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)
        return cls(mean, np.where(constant, 1.0, std))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """uint8 pixels as they are, float pixels as float32; standardized values as float32."""
        if self.mean is None:
            return _pixels(x)
        flat = (x.reshape(len(x), -1) - self.mean) / self.scale
        return flat.astype(np.float32).reshape(x.shape)


def _pixels(x: np.ndarray) -> np.ndarray:
    """uint8 as it is; other integers 0..255 as uint8; booleans and floats in [0, 1] as float32."""
    if x.dtype == np.uint8:
        return x
    if not _is_pixels(x):
        lo, hi = x.min(), x.max()
        raise InputError(f"X must be pixels (uint8, integers 0..255 or floats in [0, 1]) for a "
                         f"model fitted on pixels or with scale='pixels'; its values range over "
                         f"[{lo:.4g}, {hi:.4g}]. Divide uint8 pixels by 255, or fit with "
                         "scale='standard' (or 'auto') to take any real data.")
    if x.dtype.kind in "iu":
        return x.astype(np.uint8)
    return x.astype(np.float32, copy=False)


class _FloatBatches(Batches):
    """`Batches` over float32 images already in [0, 1] (no uint8 round trip)."""

    def __init__(self, images: np.ndarray, *, batch_size: int, device, shuffle: bool, seed: int):
        self.x = torch.from_numpy(np.ascontiguousarray(images)).to(device)
        self.y = None
        self.batch_size, self.device = batch_size, torch.device(device)
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, False, 0

    def __iter__(self):
        n = len(self.x)
        order = (torch.randperm(n, generator=torch.Generator().manual_seed(
            self.seed * 1_000_003 + self.epoch)).to(self.x.device) if self.shuffle else None)
        for i in range(len(self)):
            sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
            yield (self.x[sl] if order is None else self.x.index_select(0, order[sl])), None


def _batches(images: np.ndarray, batch_size: int, device, *, shuffle: bool, seed: int = 0):
    if images.dtype == np.uint8:
        return Batches(images, batch_size=batch_size, device=device, shuffle=shuffle, seed=seed)
    return _FloatBatches(images, batch_size=batch_size, device=device, shuffle=shuffle, seed=seed)


__all__ = ["Autoencoder", "EstimatorNotFittedError", "InputError"]
