"""Progress bars for the CLI (the library itself never draws any)."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

from ..train import Callback


def bar(**kwargs):
    """A tqdm factory for downloads and decoding, written to stderr."""
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(**kwargs)


class TrainingBar(Callback):
    """One bar per epoch showing the running loss, and a line per finished epoch with the
    row's losses and scores. The loss is read every `every` steps (on an accelerator every 100
    at least: each read waits for the device). ESPCN training (``unit="step"``) reports an
    evaluation period as an epoch."""

    HIDDEN = ("epoch", "step", "seconds", "lr")

    def __init__(self, every: int = 10, unit: str = "batch"):
        self.every, self.unit, self.bar, self.epochs = every, unit, None, 0

    def on_train_start(self, epochs, steps_per_epoch, start_epoch):
        self.epochs, self.steps, self.epoch = epochs, steps_per_epoch, start_epoch

    def on_batch_end(self, step, terms):
        if self.bar is None:
            name = "epoch" if self.unit == "batch" else "period"
            self.bar = bar(total=self.steps, desc=f"{name} {self.epoch}/{self.epochs}",
                           unit=self.unit)
        self.bar.update(1)
        total = terms["total"]
        every = self.every if total.device.type == "cpu" else max(self.every, 100)
        if step % every == 0:
            self.bar.set_postfix(loss=f"{total.item():.4g}", refresh=False)

    def on_epoch_end(self, row):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        shown = " ".join(f"{k}={v:.5g}" for k, v in row.items()
                         if k not in self.HIDDEN and isinstance(v, int | float))
        where = f"epoch {int(row['epoch'])}/{self.epochs}" if self.unit == "batch" \
            else f"step {int(row['step'])}"
        tqdm.write(f"{where}: {shown} ({row['seconds']:.1f} s)", file=sys.stderr)
        self.epoch = int(row["epoch"]) + 1
