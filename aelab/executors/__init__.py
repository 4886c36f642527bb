"""Executors: train a list of planned runs, each into its own run folder.

A study (or a sweep, or a cross-validation) first *plans* its trainings: each is a
`PlannedRun`, a plain folder name and a `RunConfig` that says everything about it (data,
model, loss, corruption, training), so that any worker on any machine can train it from the
config alone. `execute` then trains them and returns their folders; what is scored from them
happens afterwards, on the caller's side, once every run is done.

The one run-reuse rule (`train_or_reuse`): a folder that holds a finished run with the same
config is reused as it is; one whose config differs only by fewer ``train.epochs`` is
extended (resumed to the new epoch count); an interrupted run of the same config is resumed;
anything else is trained anew.

Executors: ``local`` trains the runs one after another in this process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import RunConfig
from ..errors import AelabError, ConfigError

log = logging.getLogger(__name__)

EXECUTORS = ("local",)


@dataclass(frozen=True)
class PlannedRun:
    """One training a study needs: its folder name (a plain name) and its whole config."""

    name: str
    config: RunConfig

    def __post_init__(self):
        if not self.name or "/" in self.name or "\\" in self.name or self.name in (".", ".."):
            raise ConfigError(f"a planned run's name must be a plain folder name; got "
                              f"{self.name!r}.")


class RunsFailed(AelabError):
    """Some planned runs failed; the others finished. `failures` maps name -> message."""

    def __init__(self, failures: dict[str, str]):
        self.failures = dict(failures)
        lines = "\n".join(f"  {name}: {msg}" for name, msg in self.failures.items())
        super().__init__(f"{len(failures)} run(s) failed; the others finished and are reused "
                         f"when you run the same command again:\n{lines}")


def _saved_config(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None


def reuse_state(planned: PlannedRun, folder: Path) -> str:
    """What `train_or_reuse` does with `folder`: ``"reuse"`` a finished run (metrics.json is
    written last) of the same config, ``"extend"`` one that differs only by fewer epochs,
    ``"resume"`` an interrupted run of the same config (weights and history, no metrics), or
    ``"train"`` anew."""
    done = _saved_config(folder)
    if done is None:
        return "train"
    want = json.loads(json.dumps(planned.config.to_dict()))     # as config.json holds it
    if not (folder / "metrics.json").is_file():
        interrupted = all((folder / f).is_file() for f in ("model.safetensors", "history.csv"))
        return "resume" if interrupted and done == want else "train"
    if done == want:
        return "reuse"
    if ({**done, "train": {**done.get("train", {}), "epochs": None}}
            == {**want, "train": {**want["train"], "epochs": None}}
            and done.get("train", {}).get("epochs", 0) < want["train"]["epochs"]):
        return "extend"
    return "train"


def train_or_reuse(planned: PlannedRun, folder: Path, *, progress=None, callbacks=(),
                   command: list[str] | None = None) -> Path:
    """Train `planned` into `folder`, or reuse / extend the finished run already there."""
    from ..runs import train_run

    state = reuse_state(planned, folder)
    log.info("%s: %s %s", planned.name, state, folder)
    if state == "reuse":
        return folder
    return train_run(planned.config, folder, overwrite=state == "train",
                     resume=state in ("extend", "resume"), progress=progress, callbacks=callbacks,
                     command=command)


def execute(planned: Sequence[PlannedRun], runs_dir: str | Path, *, executor: str = "local",
            progress=None, callbacks=(), command: list[str] | None = None) -> dict[str, Path]:
    """Train (or reuse) every planned run into ``runs_dir/<name>``; return name -> folder.

    A run that fails does not stop the others; once all have been tried, `RunsFailed` names
    each failed run with its error.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}.")
    names = [p.name for p in planned]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"two planned runs share the folder name {twice[0]!r}.")
    runs_dir = Path(runs_dir)
    done: dict[str, Path] = {}
    failures: dict[str, str] = {}
    for p in planned:
        try:
            done[p.name] = train_or_reuse(p, runs_dir / p.name, progress=progress,
                                          callbacks=callbacks, command=command)
        except (AelabError, ValueError, OSError, RuntimeError) as e:
            failures[p.name] = f"{type(e).__name__}: {e}"
            log.error("run %s failed: %s", p.name, e)
    if failures:
        raise RunsFailed(failures)
    return done


__all__ = ["EXECUTORS", "PlannedRun", "RunsFailed", "execute", "reuse_state", "train_or_reuse"]
