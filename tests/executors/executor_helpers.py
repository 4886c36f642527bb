"""Helpers of the executor tests (a module of its own: `conftest` names clash)."""

from __future__ import annotations

from aelab.config import RunConfig
from aelab.executors import PlannedRun


class LineRecorder:
    """A tqdm-like progress factory that keeps what it is given: the run lines and the
    bar's steps."""

    def __init__(self):
        self.lines, self.steps, self.totals = [], 0, []

    def __call__(self, total=None, **kwargs):
        self.totals.append(total)
        return self

    def update(self, n=1):
        self.steps += n

    def write(self, line):
        self.lines.append(line)

    def close(self):
        pass


def without_timings(value):
    """`value` with every key that holds a duration or a rate removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items()
                if "seconds" not in k and "per_second" not in k}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def tiny(name: str, **model) -> PlannedRun:
    """A run that trains in about a second: a small dense AE, 1 epoch on 200 digits."""
    return PlannedRun(name, RunConfig.from_dict({
        "name": name, "data": {"name": "digits", "limit": 200, "test_limit": 100},
        "model": {"name": "dense", "latent_dim": 4, "hidden": [16], **model},
        "train": {"epochs": 1, "batch_size": 64, "device": "cpu"}}))
