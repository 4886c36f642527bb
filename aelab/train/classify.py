"""Training and using classifiers (`aelab.models.classifier`) on images or on codes.

Inputs are either uint8 images (N, C, H, W), scaled to [0, 1] per batch as in `fit`, or float
arrays (N, d) such as autoencoder codes, used as they are (standardize them first if their
scale is arbitrary). Training is one short epoch loop around the shared optimizer step
(`aelab.train.step.Stepper`: finiteness naming the epoch and step, callbacks): AdamW with a
one-cycle learning-rate schedule (fast convergence in few epochs), optional random shifts of
images by up to `shift` pixels, optional early stopping on a validation split, seeded and
repeatable on CPU. Predictions go through `aelab.infer.batched`.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import _cpu
from ..errors import ConfigError, DataError
from ..infer import batched, to_model_input
from .seed import resolve_device, seeded
from .step import Callback, Stepper

HINT = "Lower the classifier's lr or check the inputs for NaNs."

log = logging.getLogger(__name__)


def _as_tensor(x: Any) -> Tensor:
    t = torch.as_tensor(np.ascontiguousarray(x) if isinstance(x, np.ndarray) else x)
    if t.dtype != torch.uint8 and not t.is_floating_point():
        raise DataError(f"classifier inputs must be uint8 images or float arrays; got {t.dtype}.")
    return t


def random_shift(x: Tensor, shift: int, generator: torch.Generator) -> Tensor:
    """Translate every image of the batch by its own random offset in [-shift, shift] pixels
    (zero padding)."""
    if shift <= 0:
        return x
    b, _, h, w = x.shape
    xp = F.pad(x, (shift, shift, shift, shift))
    oh = torch.randint(0, 2 * shift + 1, (b,), generator=generator, device=generator.device)
    ow = torch.randint(0, 2 * shift + 1, (b,), generator=generator, device=generator.device)
    rows = (oh[:, None] + torch.arange(h, device=x.device))[:, :, None]     # (B, H, 1)
    cols = (ow[:, None] + torch.arange(w, device=x.device))[:, None, :]     # (B, 1, W)
    out = xp[torch.arange(b, device=x.device)[:, None, None], :, rows, cols]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def train_classifier(model: nn.Module, x: Any, y: Any, *, epochs: int = 10,
                     batch_size: int = 128, lr: float = 3e-3, weight_decay: float = 5e-4,
                     seed: int = 0, device: str | torch.device = "auto",
                     val: tuple[Any, Any] | None = None, patience: int | None = None,
                     shift: int = 0, label_smoothing: float = 0.0,
                     callbacks: Sequence[Callback] = ()) -> list[dict[str, float]]:
    """Train `model` in place on (x, y); return one dict per epoch (loss, accuracy, seconds,
    and ``val_loss``/``val_accuracy`` when `val` is given). With `val` and `patience`, stop
    after `patience` epochs without a better validation loss and keep the best weights.
    The steps are `aelab.train.step.Stepper`'s, as in `fit`; `callbacks` get its hooks.

    Raises
    ------
    ConfigError
        For a bad setting (epochs < 1, batch_size < 1, shift on vectors).
    DataError
        When x and y do not match or the labels do not fit the model's classes.
    TrainingError
        On a non-finite loss, naming the epoch and the step.
    """
    _cpu.configure()
    if epochs < 1 or batch_size < 1:
        raise ConfigError(f"epochs and batch_size must be >= 1; got {epochs} and {batch_size}.")
    dev = resolve_device(device) if isinstance(device, str) else device
    xt, yt = _as_tensor(x), torch.as_tensor(np.asarray(y), dtype=torch.long)
    if len(xt) != len(yt) or len(xt) == 0:
        raise DataError(f"x has {len(xt)} rows and y {len(yt)} labels; they must match and be "
                        "non-empty.")
    if shift and xt.ndim != 4:
        raise ConfigError("shift augments images (N, C, H, W); set shift=0 for vectors.")
    with seeded(seed):   # dropout draws its masks from torch's global RNG
        return _train(model, xt, yt, epochs=epochs, batch_size=batch_size, lr=lr,
                      weight_decay=weight_decay, seed=seed, dev=dev, val=val,
                      patience=patience, shift=shift, label_smoothing=label_smoothing,
                      callbacks=callbacks)


def _train(model, xt, yt, *, epochs, batch_size, lr, weight_decay, seed, dev, val, patience,
           shift, label_smoothing, callbacks) -> list[dict[str, float]]:
    gen = torch.Generator().manual_seed(seed)
    model.to(dev)
    steps = epochs * ((len(xt) + batch_size - 1) // batch_size)
    try:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.25)
    stepper = Stepper(model, opt, dev, scheduler=sched, callbacks=callbacks, hint=HINT)
    history: list[dict[str, float]] = []
    best, best_state, bad = float("inf"), None, 0
    for cb in callbacks:
        cb.on_train_start(epochs, -(-len(xt) // batch_size), 1)
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(xt), generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(0, len(xt), batch_size):
            idx = perm[i:i + batch_size]
            xb = to_model_input(xt.index_select(0, idx), dev)
            yb = yt.index_select(0, idx).to(dev)
            if shift:
                xb = random_shift(xb, shift, gen)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
            stepper({"total": loss}, epoch)
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
        stepper.end_epoch({"total": loss}, epoch)
        row = {"epoch": epoch, "loss": loss_sum / len(xt), "accuracy": correct / len(xt),
               "seconds": time.perf_counter() - t0}
        if val is not None:
            v_logits = predict_logits(model, val[0])
            v_y = torch.as_tensor(np.asarray(val[1]), dtype=torch.long)
            row["val_loss"] = float(F.cross_entropy(v_logits, v_y))
            row["val_accuracy"] = float((v_logits.argmax(1) == v_y).float().mean())
            if row["val_loss"] < best:
                best, bad = row["val_loss"], 0
                best_state = copy.deepcopy(model.state_dict()) if patience else None
            else:
                bad += 1
        history.append(row)
        log.info("classifier epoch %d/%d %s", epoch, epochs,
                 " ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "epoch"))
        for cb in callbacks:
            cb.on_epoch_end(row)
        if patience is not None and val is not None and bad >= patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    for cb in callbacks:
        cb.on_train_end(history)
    return history


def predict_logits(model: nn.Module, x: Any, *, batch_size: int = 1024) -> Tensor:
    """Class logits (float32, on the CPU) for every row of `x`, in eval mode on the model's
    device (`train_classifier` puts it back in training mode)."""
    return batched(model, _as_tensor(x), model=model, batch_size=batch_size)


def predict(model: nn.Module, x: Any, **kw) -> np.ndarray:
    """Predicted class of every row of `x`."""
    return predict_logits(model, x, **kw).argmax(1).numpy()


def accuracy(model: nn.Module, x: Any, y: Any, **kw) -> float:
    """Fraction of rows of `x` whose predicted class is `y`."""
    return float((predict(model, x, **kw) == np.asarray(y)).mean())


def features(model: nn.Module, x: Any, *, batch_size: int = 1024) -> np.ndarray:
    """The classifier's feature-layer activations (``model.features``) for every row."""
    return batched(model.features, _as_tensor(x), model=model, batch_size=batch_size).numpy()
