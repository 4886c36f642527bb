"""The ``local`` executor: the planned runs one after another, in this process."""

from __future__ import annotations

from pathlib import Path

from . import ExecutorOptions, Outcome, PlannedRun, attempt


def check(options: ExecutorOptions) -> None:
    """The local executor runs wherever aelab does."""


def run(planned: list[PlannedRun], runs_dir: Path, options: ExecutorOptions, *, progress,
        callbacks, command: list[str], on_done) -> list[Outcome]:
    """Train each run in turn (with ``options.threads`` torch threads, if set, restored
    afterwards); a failed run does not stop the next."""
    import torch

    before = torch.get_num_threads()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    outcomes = []
    try:
        for p in planned:
            outcomes.append(attempt(p, runs_dir / p.name, progress=progress,
                                    callbacks=callbacks, command=command))
            on_done(outcomes[-1])
    finally:
        torch.set_num_threads(before)
    return outcomes
