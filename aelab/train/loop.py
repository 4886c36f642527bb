"""The training loop of autoencoders and VAEs: one plain function, `fit`.

seed -> optimizer -> per step: batch, corrupt, forward, named loss terms, then the shared
`Stepper` (finiteness, backward, clip, optimizer step, callbacks) -> validate under
eval()/no_grad() -> history row -> checkpoint -> early stopping.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from .. import _cpu
from ..config import TrainConfig
from ..errors import DataError, TrainingError
from ..files import atomic_write
from ..models import save_model
from ..precision import as_fp32, autocast, resolve_precision
from .batches import Batches
from .checkpoint import CHECKPOINT, Checkpoint, read_checkpoint, save_checkpoint
from .step import Callback, Stepper, check_finite

log = logging.getLogger(__name__)

Corruption = Callable[[Tensor, torch.Generator], Tensor]


@dataclass
class FitResult:
    history: list[dict[str, float]]
    best_epoch: int
    stopped_early: bool
    precision: str = "fp32"     # what the forward pass ran in: fp32 or bf16


def build_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam, AdamW, SGD or Adadelta. The fused implementations are used where torch has them
    (on CPU, fused Adam's step is ~5x cheaper than the default loop over parameters)."""
    params = list(params)
    kinds = {
        "adam": (torch.optim.Adam, {"weight_decay": cfg.weight_decay}),
        "adamw": (torch.optim.AdamW, {"weight_decay": cfg.weight_decay}),
        "sgd": (torch.optim.SGD, {"momentum": cfg.momentum, "weight_decay": cfg.weight_decay}),
        "adadelta": (torch.optim.Adadelta, {"weight_decay": cfg.weight_decay}),
    }
    cls, kwargs = kinds[cfg.optimizer]
    if cfg.optimizer != "adadelta":
        try:
            return cls(params, lr=cfg.lr, fused=True, **kwargs)
        except (RuntimeError, TypeError) as e:  # fused unsupported for this device/dtype
            log.debug("fused %s unavailable (%s); using foreach", cfg.optimizer, e)
    return cls(params, lr=cfg.lr, foreach=True, **kwargs)


def memory_format(model: nn.Module, device: torch.device) -> torch.memory_format:
    """``channels_last`` for convolutional models on the CPU, where oneDNN's convolutions run
    it ~1.7x faster than NCHW for our small conv autoencoders (same fp32 arithmetic);
    ``contiguous_format`` otherwise."""
    convs = (nn.Conv2d, nn.ConvTranspose2d)
    if device.type == "cpu" and any(isinstance(m, convs) for m in model.modules()):
        return torch.channels_last
    return torch.contiguous_format


def evaluate_terms(model: nn.Module, objective, batches: Batches,
                   precision: str = "fp32") -> dict[str, float]:
    """Mean of every loss term over `batches`, in eval mode without gradients; the forward
    pass at `precision` (fp32 or bf16), the terms in fp32."""
    was_training = model.training
    model.eval()
    sums: dict[str, Tensor] = {}
    device = next(model.parameters()).device
    with torch.no_grad():
        for x, _ in batches:
            with autocast(device, precision):
                out = model(x)
            terms = objective(x, as_fp32(out))
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v.detach() * len(x)
    model.train(was_training)
    return {k: float(v) / batches.n for k, v in sums.items()}


def sanity_check(model: nn.Module, objective, batches: Batches,
                 precision: str = "fp32") -> None:
    """Run one batch through model and objective before epoch 1; fail fast with causes."""
    x, _ = next(iter(batches))
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            with autocast(device, precision):
                out = model(x)
            out = as_fp32(out)
            terms = objective(x, out)
    except Exception as e:
        raise TrainingError(
            f"the first batch (shape {tuple(x.shape)}) failed in the model or the loss: {e}. "
            "Likely causes: the model's input_shape does not match the data, or a loss term "
            "needs outputs the model does not give."
        ) from e
    if out.x_logits.shape != x.shape:
        raise TrainingError(f"the model returns images of shape {tuple(out.x_logits.shape)} for "
                            f"inputs of shape {tuple(x.shape)}; they must match.")
    check_finite(terms, epoch=0, step=0)


def write_history(path: Path, history: list[dict[str, float]]) -> None:
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=columns)
            w.writeheader()
            w.writerows(history)

    atomic_write(path, write)


def _checkpoint_to_resume(resume_from, run_dir: Path | None) -> Checkpoint | None:
    """`resume_from` as a Checkpoint: given as one, or (the older calling convention) as the
    run's history, whose length must then agree with the checkpoint in `run_dir`."""
    if resume_from is None or isinstance(resume_from, Checkpoint):
        return resume_from
    if not resume_from:
        return None
    if run_dir is None:
        raise DataError("fit(resume_from=history) needs the run_dir holding the checkpoint.")
    ckpt = read_checkpoint(run_dir / CHECKPOINT)
    if ckpt.epoch != len(resume_from):
        raise DataError(f"cannot resume {str(run_dir)!r}: the history given has "
                        f"{len(resume_from)} epochs but {CHECKPOINT} has {ckpt.epoch}.")
    return ckpt


def _restore(ckpt: Checkpoint, model: nn.Module, optimizer: torch.optim.Optimizer,
             gen: torch.Generator, cfg: TrainConfig, steps_per_epoch: int,
             device: torch.device) -> dict[str, Tensor] | None:
    """Load a checkpoint into model, optimizer and generators; the best weights it holds."""
    ckpt.restore(model, optimizer, gen, steps_per_epoch)
    for group in optimizer.param_groups:   # train.lr may change on resume
        group["lr"] = cfg.lr
    best = ckpt.state("best.")
    return None if best is None else {k: v.to(device) for k, v in best.items()}


@contextlib.contextmanager
def _leaving_no_trace(model: nn.Module):
    """Undo what the block drew from the global RNG (dropout) and did to the model's buffers
    (batch-norm statistics)."""
    rng_state = torch.get_rng_state()
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    yield
    torch.set_rng_state(rng_state)
    with torch.no_grad():
        for k, v in model.named_buffers():
            v.copy_(buffers[k])


def _export(run_dir: Path, model: nn.Module, best_weights: dict | None,
            history: list[dict]) -> None:
    """Rewrite the exports of a checkpoint: model.safetensors, best.safetensors, history.csv."""
    save_model(model, run_dir / "model.safetensors")
    if best_weights is not None:
        best_model = copy.deepcopy(model)
        best_model.load_state_dict(best_weights)
        save_model(best_model, run_dir / "best.safetensors")
    write_history(run_dir / "history.csv", history)


def fit(model: nn.Module, objective, train: Batches, val: Batches | None, cfg: TrainConfig, *,
        device: torch.device, run_dir: str | Path | None = None, corrupt: Corruption | None = None,
        callbacks: Sequence[Callback] = (), resume_from: Checkpoint | list[dict] | None = None,
        run_meta: dict | None = None) -> FitResult:
    """Train `model` in place; return the history (one dict per epoch) and the best epoch.

    Parameters
    ----------
    model : nn.Module
        Already on `device`.
    objective : callable
        ``objective(x, out) -> dict`` of named scalar terms including ``"total"``.
    train, val : Batches
        Training batches (shuffled) and optional validation batches.
    cfg : TrainConfig
        ``cfg.precision`` (fp32, bf16, auto) sets the forward pass's precision (see
        `aelab.precision`); the result's ``precision`` says which one ran.
    run_dir : path, optional
        Where ``checkpoint.safetensors`` is committed at each epoch's end (one rename: see
        `aelab.train.checkpoint`), then exported as ``model.safetensors``,
        ``best.safetensors`` and ``history.csv``.
    corrupt : callable, optional
        ``x_in = corrupt(x, generator)``; the target stays the clean ``x``.
    resume_from : Checkpoint or list of dict, optional
        The checkpoint of an interrupted run (or its history, whose length must match the
        checkpoint in `run_dir`): training continues after its last epoch with the saved
        weights, optimizer and generator states, so the result is the same as an
        uninterrupted run's. `cfg`'s ``epochs``, ``lr`` and ``patience`` apply from there.
    run_meta : dict, optional
        Stored in the checkpoint as is (`aelab.runs` stores the run config there).

    Raises
    ------
    TrainingError
        On a non-finite loss (naming the step and term) or a failed first-batch check.
    DataError
        If the checkpoint to resume from does not fit the model or the data.
    """
    _cpu.configure()
    run_dir = Path(run_dir) if run_dir is not None else None
    fmt = memory_format(model, device)
    model.to(memory_format=fmt)
    precision = resolve_precision(cfg.precision, device, model, batch_size=cfg.batch_size)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True     # batch shapes are fixed within a run
    optimizer = build_optimizer(model.parameters(), cfg)
    ckpt = _checkpoint_to_resume(resume_from, run_dir)
    history: list[dict[str, float]] = list(ckpt.history) if ckpt else []
    state = dict(ckpt.loop) if ckpt else {"best": math.inf, "best_epoch": 0, "bad_epochs": 0}
    best_weights = None
    gen = torch.Generator(device=device).manual_seed(cfg.seed + 7919)
    if ckpt is None:
        sanity_check(model, objective, train, precision)
    else:
        best_weights = _restore(ckpt, model, optimizer, gen, cfg, len(train), device)
        with _leaving_no_trace(model):   # as if the run had never stopped
            sanity_check(model, objective, train, precision)
    start = len(history) + 1
    for cb in callbacks:
        cb.on_train_start(cfg.epochs, len(train), start)
    if ckpt is not None and run_dir is not None:   # a kill may have beaten the last export
        _export(run_dir, model, best_weights, history)
    model.train()
    stepper = Stepper(model, optimizer, device, precision=precision, grad_clip=cfg.grad_clip,
                      callbacks=callbacks, step=(start - 1) * len(train))
    # A resumed run that had stopped early stays stopped unless train.patience was raised.
    stopped_early = cfg.patience is not None and state["bad_epochs"] >= cfg.patience
    for epoch in range(start, cfg.epochs + 1 if not stopped_early else start):
        train.set_epoch(epoch)
        t0 = time.perf_counter()
        sums: dict[str, Tensor] = {}
        for x, _ in train:
            x = x.contiguous(memory_format=fmt)
            x_in = corrupt(x, gen) if corrupt is not None else x
            with stepper.forward():
                out = model(x_in)
            terms = objective(x, as_fp32(out))
            stepper(terms, epoch)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v.detach() * len(x)
        stepper.end_epoch(terms, epoch)
        seconds = time.perf_counter() - t0
        row: dict[str, float] = {"epoch": epoch, "seconds": round(seconds, 4),
                                 "lr": optimizer.param_groups[0]["lr"]}
        row |= {f"train_{k}": float(v) / train.n for k, v in sums.items()}
        if val is not None:
            row |= {f"val_{k}": v for k, v in evaluate_terms(model, objective, val,
                                                                  precision).items()}
        history.append(row)
        monitored = row["val_total"] if val is not None else row["train_total"]
        improved = monitored < state["best"] - cfg.min_delta
        if improved:
            state = {"best": monitored, "best_epoch": epoch, "bad_epochs": 0}
            best_weights = copy.deepcopy(model.state_dict()) if cfg.restore_best else None
        else:
            state["bad_epochs"] += 1
        if run_dir is not None:
            save_checkpoint(run_dir / CHECKPOINT, model=model, optimizer=optimizer,
                            best=best_weights, history=history, loop=state, step=stepper.step,
                            corrupt_gen=gen, run=run_meta)
            save_model(model, run_dir / "model.safetensors")   # exports of the checkpoint
            if improved and best_weights is not None:
                save_model(model, run_dir / "best.safetensors")
            write_history(run_dir / "history.csv", history)
        log.info("epoch %d/%d %s", epoch, cfg.epochs,
                 " ".join(f"{k}={v:.5g}" for k, v in row.items() if k != "epoch"))
        for cb in callbacks:
            cb.on_epoch_end(row)
        if cfg.patience is not None and state["bad_epochs"] >= cfg.patience:
            log.info("early stopping at epoch %d (best %d)", epoch, state["best_epoch"])
            stopped_early = True
            break
    if cfg.restore_best and best_weights is not None and state["best_epoch"] != len(history):
        model.load_state_dict(best_weights)
        if run_dir is not None:
            save_model(model, run_dir / "model.safetensors")
    result = FitResult(history, int(state["best_epoch"]), stopped_early, precision)
    for cb in callbacks:
        cb.on_train_end(history)
    return result
