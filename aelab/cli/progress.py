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
    """One bar per epoch showing the running loss, and a line per finished epoch. The loss
    is read every `every` steps (on an accelerator every 100 at least: each read waits for
    the device)."""

    def __init__(self, every: int = 10):
        self.every, self.bar, self.epochs = every, None, 0

    def on_train_start(self, epochs, steps_per_epoch, start_epoch):
        self.epochs, self.steps, self.epoch = epochs, steps_per_epoch, start_epoch

    def on_batch_end(self, step, terms):
        if self.bar is None:
            self.bar = bar(total=self.steps, desc=f"epoch {self.epoch}/{self.epochs}",
                           unit="batch")
        self.bar.update(1)
        total = terms["total"]
        every = self.every if total.device.type == "cpu" else max(self.every, 100)
        if step % every == 0:
            self.bar.set_postfix(loss=f"{total.item():.4g}", refresh=False)

    def on_epoch_end(self, row):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        val = f" val_total={row['val_total']:.5g}" if "val_total" in row else ""
        tqdm.write(f"epoch {int(row['epoch'])}/{self.epochs}: "
                   f"train_total={row['train_total']:.5g}{val} ({row['seconds']:.1f} s)",
                   file=sys.stderr)
        self.epoch = int(row["epoch"]) + 1
