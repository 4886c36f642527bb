"""The optimizer step every trainer in aelab takes: `Stepper`.

`fit` (autoencoders and VAEs), `train_classifier` (reference CNNs and code classifiers) and the
ESPCN trainers build their batches and losses their own way, then hand the loss terms to one
`Stepper`, which does the rest the same way for all of them:

terms -> finiteness (naming the epoch and step) -> zero_grad -> backward -> clip -> optimizer
step -> scheduler step -> callbacks.

On the CPU every step's loss is checked at once (reading a CPU scalar costs nothing); on an
accelerator the first bad step is recorded on the device and read back every `finite_every`
steps and at `end_epoch`, so no step waits for the device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..errors import TrainingError
from ..precision import autocast

DEFAULT_HINT = ("Lower train.lr, set train.grad_clip, or check the input data for NaNs.")


class Callback:
    """Hooks for progress display; the trainers call them, the CLI implements them."""

    def on_train_start(self, epochs: int, steps_per_epoch: int, start_epoch: int) -> None: ...
    def on_batch_end(self, step: int, terms: dict[str, Tensor]) -> None: ...
    def on_epoch_end(self, row: dict[str, float]) -> None: ...
    def on_train_end(self, history: list[dict[str, float]]) -> None: ...


def _where(epoch: int | None, step: int) -> str:
    return f"step {step}" if epoch is None else f"epoch {epoch}, step {step}"


def check_finite(terms: dict[str, Tensor], epoch: int | None, step: int,
                 hint: str = DEFAULT_HINT) -> None:
    """Raise a TrainingError naming the place and the bad terms when ``terms["total"]`` is not
    finite (one host read)."""
    if torch.isfinite(terms["total"]):
        return
    bad = [f"{k}={v.item():.4g}" for k, v in terms.items() if not torch.isfinite(v)]
    raise TrainingError(f"loss became non-finite at {_where(epoch, step)}: {', '.join(bad)}. "
                        f"{hint}")


class Stepper:
    """Backward and optimizer steps for `model`, counted from `step` (a resumed run passes the
    steps it has done).

    Parameters
    ----------
    precision : str
        The resolved forward precision (fp32 or bf16); `forward()` is its autocast context.
    grad_clip : float, optional
        Clip the global gradient norm to this before each step.
    scheduler : optional
        A torch learning-rate scheduler stepped after every optimizer step.
    callbacks : sequence of Callback
        ``on_batch_end(step, terms)`` after every step.
    hint : str
        What to tell the user after "loss became non-finite at ...".
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 device: torch.device, *, precision: str = "fp32",
                 grad_clip: float | None = None, scheduler=None,
                 callbacks: Sequence[Callback] = (), hint: str = DEFAULT_HINT,
                 step: int = 0, finite_every: int = 50):
        self.model, self.optimizer, self.device = model, optimizer, device
        self.precision, self.grad_clip, self.scheduler = precision, grad_clip, scheduler
        self.callbacks, self.hint, self.step = tuple(callbacks), hint, step
        self.finite_every = 1 if device.type == "cpu" else finite_every
        self._first_bad = torch.full((), -1, dtype=torch.long, device=device)

    def forward(self):
        """The autocast context the model's forward pass runs in (the loss is computed after
        it, in fp32)."""
        return autocast(self.device, self.precision)

    def __call__(self, terms: dict[str, Tensor], epoch: int | None = None) -> None:
        """One step on ``terms["total"]``; the other terms are only reported."""
        self.step += 1
        self._watch(terms, epoch)
        self.optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        for cb in self.callbacks:
            cb.on_batch_end(self.step, terms)

    def _watch(self, terms: dict[str, Tensor], epoch: int | None) -> None:
        if self.finite_every == 1:
            check_finite(terms, epoch, self.step, self.hint)
            return
        bad = ~torch.isfinite(terms["total"].detach())
        self._first_bad = torch.where(bad & (self._first_bad < 0), self.step, self._first_bad)
        if self.step % self.finite_every == 0:
            self.end_epoch(terms, epoch)

    def end_epoch(self, terms: dict[str, Tensor], epoch: int | None = None) -> None:
        """Raise if any step so far had a non-finite loss (on an accelerator, the one read of
        the recorded first bad step)."""
        first = int(self._first_bad)
        if first >= 0:
            now = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in terms.items())
            raise TrainingError(f"loss became non-finite at {_where(epoch, first)} "
                                f"(now {now}). {self.hint}")
