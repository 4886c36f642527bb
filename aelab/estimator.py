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
- floats in ``[0, 1]``, or integers read as 8-bit pixel values ``0..255`` (``uint8`` images,
  divided by 255). Anything else (values outside those ranges, NaN, complex or sparse
  input, other ranks) is an error that names what it got and what to do;
- with ``scale="minmax"``, any real numbers: `fit` maps the training data's smallest and
  largest value to 0 and 1 (one pair for all features, as for pixels), and
  `inverse_transform` maps back. This is how it takes non-image data, e.g. in
  scikit-learn's own estimator checks.

`transform` returns float32 codes ``(n, code_size)``. `inverse_transform` returns float32
reconstructions in ``[0, 1]``, laid out like the ``X`` given to `fit` (always in the ``[0, 1]``
scale, also for uint8 input; in the original scale with ``scale="minmax"``). `score` is minus
the mean squared error per pixel in the ``[0, 1]`` scale, so higher is better, as
`GridSearchCV` expects.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .config import LossConfig, TrainConfig
from .errors import DataError, NotFittedError
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
    scale : {"unit", "minmax"}, default "unit"
        "unit": X is floats in [0, 1] or 0..255 integers (an error otherwise). "minmax": any
        real X, scaled by the training data's global minimum and maximum.
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
    """

    def __init__(self, model: str = "dense", latent_dim: int = 16,
                 model_options: Mapping[str, Any] | None = None, loss: str = "mse",
                 l1_code: float = 0.0, epochs: int = 10, batch_size: int = 64, lr: float = 1e-3,
                 optimizer: str = "adam", weight_decay: float = 0.0,
                 input_shape: Sequence[int] | None = None, scale: str = "unit",
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
        images, layout, shape = self._images(X, fitting=True)
        seed = self._seed()
        device = resolve_device(self.device)
        train_cfg = TrainConfig.from_dict({
            "epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
            "optimizer": self.optimizer, "weight_decay": self.weight_decay, "seed": seed,
            "device": self.device, "restore_best": False})
        loss_cfg = LossConfig.from_dict({"name": self.loss, "l1_code": self.l1_code})
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
        self._layout = layout
        with torch.no_grad():
            z = net.encode(next(iter(batches))[0][:1])
        self.code_shape_ = tuple(z.shape[1:])
        return self

    def transform(self, X) -> np.ndarray:
        """Codes of `X`: float32 array (n, code_size)."""
        self._check_fitted()
        images, _, _ = self._images(X)
        with torch.no_grad():
            codes = [self.model_.encode(x).flatten(1).cpu() for x, _ in self._eval_batches(images)]
        return torch.cat(codes).numpy() if codes else np.zeros((0, self._n_features_out),
                                                                np.float32)

    def inverse_transform(self, X) -> np.ndarray:
        """Decode codes (n, code_size) to reconstructions in [0, 1], laid out like fit's X."""
        self._check_fitted()
        Z = check_array(X, dtype=np.float32, input_name="X")
        if Z.shape[1] != self._n_features_out:
            raise InputError(f"inverse_transform expects codes of shape (n, "
                             f"{self._n_features_out}); got {Z.shape}.")
        device = next(self.model_.parameters()).device
        out = []
        with torch.no_grad():
            for start in range(0, len(Z), 512):
                z = torch.from_numpy(Z[start:start + 512]).to(device)
                out.append(torch.sigmoid(self.model_.decode(z.view(-1, *self.code_shape_))).cpu())
        x = torch.cat(out).numpy()
        if self.scale == "minmax":
            x = (x * self._span() + self.data_min_).astype(np.float32)
        return x.reshape(len(x), *self._layout_shape())

    def score(self, X, y=None) -> float:
        """Minus the mean squared error per pixel of the reconstructions of `X` ([0, 1] scale)."""
        self._check_fitted()
        images, _, _ = self._images(X)
        total, count = 0.0, 0
        with torch.no_grad():
            for x, _ in self._eval_batches(images):
                x_rec = torch.sigmoid(self.model_(x).x_logits)
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

    # -- input handling ------------------------------------------------------------------

    def _images(self, X, *, fitting: bool = False) -> tuple[Any, str, tuple[int, int, int]]:
        """X -> (uint8 or float32 array (n, C, H, W), layout name, (C, H, W))."""
        X = check_array(X, dtype="numeric", allow_nd=True, ensure_min_features=1, input_name="X",
                        ensure_min_samples=1, estimator=self)
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
        if self.scale == "unit":
            return _pixels(images), layout, expected
        if self.scale != "minmax":
            raise InputError(f"scale must be 'unit' or 'minmax'; got {self.scale!r}.")
        if fitting:
            self.data_min_, self.data_max_ = float(images.min()), float(images.max())
        return ((images - self.data_min_) / self._span()).astype(np.float32), layout, expected

    def _span(self) -> float:
        return (self.data_max_ - self.data_min_) or 1.0

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


def _pixels(x: np.ndarray) -> np.ndarray:
    """uint8 as it is; other integers 0..255 as uint8; floats in [0, 1] as float32."""
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind in "iu":
        if x.size and (x.min() < 0 or x.max() > 255):
            raise InputError(f"integer X is read as 8-bit pixel values 0..255, but its values "
                             f"range over [{x.min()}, {x.max()}]. Pass uint8 images, or floats "
                             "scaled to [0, 1].")
        return x.astype(np.uint8)
    if x.dtype.kind == "b":
        return x.astype(np.float32)
    if x.dtype.kind != "f":
        raise InputError(f"X must hold numbers (floats in [0, 1] or uint8 pixels); got dtype "
                         f"{x.dtype}.")
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if lo < 0.0 or hi > 1.0:
        raise InputError(f"float X must lie in [0, 1] (the decoder ends in a sigmoid); its "
                         f"values range over [{lo:.4g}, {hi:.4g}]. Divide uint8 pixels by 255, "
                         "or put sklearn.preprocessing.MinMaxScaler(clip=True) before it in a "
                         "Pipeline.")
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
