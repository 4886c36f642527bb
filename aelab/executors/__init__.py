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

Executors (`ExecutorOptions.name`), one interface, a module of this package with
``check(options)`` (raise when it cannot run here, before anything starts) and ``run(planned,
runs_dir, options, *, progress, callbacks, command, on_done) -> list[Outcome]``:

- ``local`` (`aelab.executors.local`) trains the runs one after another in this process;
- ``ray`` (`aelab.executors.ray`) trains each run as a Ray task, on a local Ray instance or
  on the cluster at ``address``; Ray is imported only there (``pip install 'aelab[ray]'``).

Both report each finished run the same way (one line: name, what was done, seconds, the main
metric) and advance one overall bar.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from ..config import RunConfig
from ..errors import AelabError, ConfigError

log = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")
MAIN_METRIC = "test_mse"          # shown in the line of each finished run
# What a failed run raises and the executors report (anything else is a bug and propagates).
RUN_ERRORS = (AelabError, ValueError, OSError, RuntimeError)


@dataclass(frozen=True)
class PlannedRun:
    """One training a study needs: its folder name (a plain name) and its whole config."""

    name: str
    config: RunConfig

    def __post_init__(self):
        if not self.name or "/" in self.name or "\\" in self.name or self.name in (".", ".."):
            raise ConfigError(f"a planned run's name must be a plain folder name; got "
                              f"{self.name!r}.")


@dataclass(frozen=True)
class ExecutorOptions:
    """Where and how wide the planned runs are trained.

    Parameters
    ----------
    name : {"local", "ray"}
        ``local`` trains in this process, one run after another; ``ray`` as Ray tasks.
    address : str, optional
        Ray only: ``"auto"`` (the cluster this node joined with ``ray start``) or
        ``"ray://host:10001"``; unset starts a Ray instance on this machine.
    workers : int, optional
        Ray only: at most this many runs at once (default: one per GPU where the cluster has
        GPUs, else the CPUs divided by `threads`, and never more than the runs).
    threads : int, optional
        torch CPU threads of each run (Ray default: the cluster's CPUs divided by `workers`;
        local default: torch's own).
    """

    name: str = "local"
    address: str | None = None
    workers: int | None = None
    threads: int | None = None

    def __post_init__(self):
        if self.name not in EXECUTORS:
            raise ConfigError(f"executor {self.name!r} is not one of {', '.join(EXECUTORS)}.")
        for key in ("workers", "threads"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ConfigError(f"executor {key} must be an integer >= 1; got {value!r}.")
        if self.name == "local" and self.address is not None:
            raise ConfigError(f"--address {self.address} joins a Ray cluster; it needs "
                              "--executor ray.")
        if self.name == "local" and (self.workers or 1) > 1:
            raise ConfigError(f"the local executor trains one run at a time; --workers "
                              f"{self.workers} needs --executor ray.")


@dataclass(frozen=True)
class Outcome:
    """What became of one planned run: `state` is what the reuse rule chose (reuse, extend,
    train); `error` is the failure's one-line message, None when the run finished."""

    name: str
    folder: Path
    state: str
    seconds: float
    error: str | None = None


class RunsFailed(AelabError):
    """Some planned runs failed; the others finished. `failures` maps name -> message."""

    def __init__(self, failures: dict[str, str]):
        self.failures = dict(failures)
        lines = "\n".join(f"  {name}: {msg}" for name, msg in self.failures.items())
        super().__init__(f"{len(failures)} run(s) failed; the others finished and are reused "
                         f"when you run the same command again:\n{lines}")


def _saved_config(folder: Path) -> dict | None:
    """The run config in `folder`'s config.json, read back through `RunConfig` so that keys
    added since it was written compare at their defaults (None: no readable config)."""
    from ..config import RunConfig

    try:
        saved = json.loads((folder / "config.json").read_text())
        return json.loads(json.dumps(RunConfig.from_dict(saved).to_dict()))
    except (OSError, ValueError):          # JSONDecodeError and ConfigError are ValueErrors
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
                   command: list[str] | None = None, state: str | None = None) -> Path:
    """Train `planned` into `folder`, or reuse / extend the finished run already there
    (`state`, when given, is `reuse_state` computed already)."""
    from ..runs import train_run

    state = state or reuse_state(planned, folder)
    log.info("%s: %s %s", planned.name, state, folder)
    if state == "reuse":
        return folder
    return train_run(planned.config, folder, overwrite=state == "train",
                     resume=state in ("extend", "resume"), progress=progress, callbacks=callbacks,
                     command=command)


def _check_writable(folder: Path, node: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".aelab-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise AelabError(f"node {node} cannot write the run folder {str(folder)!r} "
                         f"({e.strerror or e}). The output folder must be on storage every node "
                         "sees, at the same path (a shared file system such as NFS): pass an "
                         "--out there.") from e


def attempt(planned: PlannedRun, folder: Path, *, progress=None, callbacks=(),
            command: list[str] | None = None, node: str | None = None) -> Outcome:
    """Apply the reuse rule to one planned run and train it if needed; a failure is returned
    as the outcome's `error`, not raised. With `node` (a Ray task), first check that this node
    can write `folder`."""
    t0 = time.perf_counter()
    state = reuse_state(planned, folder)
    try:
        if node is not None:
            _check_writable(folder, node)
        train_or_reuse(planned, folder, progress=progress, callbacks=callbacks,
                       command=command, state=state)
    except RUN_ERRORS as e:
        return Outcome(planned.name, folder, state, time.perf_counter() - t0,
                       f"{type(e).__name__}: {e}")
    return Outcome(planned.name, folder, state, time.perf_counter() - t0)


def describe(outcome: Outcome) -> str:
    """The one line shown for a finished run: name, what was done, seconds, main metric."""
    if outcome.error is not None:
        took = f" after {outcome.seconds:.1f} s" if math.isfinite(outcome.seconds) else ""
        return f"{outcome.name}: FAILED{took}: {outcome.error}"
    done = {"reuse": "reused", "extend": "extended", "train": "trained"}[outcome.state]
    took = "" if outcome.state == "reuse" else f" in {outcome.seconds:.1f} s"
    try:
        value = json.loads((outcome.folder / "metrics.json").read_text()).get(MAIN_METRIC)
    except (OSError, json.JSONDecodeError):
        value = None
    metric = f", {MAIN_METRIC}={value:.5g}" if isinstance(value, int | float) and \
        math.isfinite(value) else ""
    return f"{outcome.name}: {done}{took}{metric}"


def execute(planned: Sequence[PlannedRun], runs_dir: str | Path, *,
            executor: str | ExecutorOptions = "local", progress=None, callbacks=(),
            command: list[str] | None = None) -> dict[str, Path]:
    """Train (or reuse) every planned run into ``runs_dir/<name>``; return name -> folder.

    Parameters
    ----------
    planned : sequence of PlannedRun
    runs_dir : path
        The folder of the run folders (on a Ray cluster: on storage every node sees).
    executor : str or ExecutorOptions
        ``"local"``, ``"ray"``, or the options with address, workers and threads.
    progress : tqdm-like factory, optional
        ``progress(total=, desc=, unit=)``: the overall bar (one step per finished run); its
        ``write(line)``, where it has one, shows each run's line. Also used for downloads by
        the local executor.
    callbacks : sequence of aelab.train.Callback
        Per-epoch display; the local executor only (Ray tasks report per run).
    command : list of str, optional
        The command line recorded in each run's env.json (default: this process's).

    Raises
    ------
    RunsFailed
        Once every run has been tried, naming each failed run with its error.
    """
    import sys

    opts = executor if isinstance(executor, ExecutorOptions) else ExecutorOptions(executor)
    names = [p.name for p in planned]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"two planned runs share the folder name {twice[0]!r}.")
    backend = import_module(f"{__name__}.{opts.name}")
    backend.check(opts)
    bar = progress(total=len(planned), desc="runs", unit="run") if progress else None
    write = getattr(bar, "write", None)

    def on_done(outcome: Outcome) -> None:
        line = describe(outcome)
        if write is not None:
            write(line)
        elif outcome.error is not None:
            log.error("%s", line)
        else:
            log.info("%s", line)
        if bar is not None:
            bar.update(1)

    try:
        outcomes = backend.run(list(planned), Path(runs_dir), opts, progress=progress,
                               callbacks=callbacks,
                               command=list(sys.argv if command is None else command),
                               on_done=on_done)
    finally:
        if bar is not None:
            bar.close()
    failures = {o.name: o.error for o in outcomes if o.error is not None}
    if failures:
        raise RunsFailed(failures)
    folders = {o.name: o.folder for o in outcomes}
    return {name: folders[name] for name in names}


__all__ = ["EXECUTORS", "MAIN_METRIC", "ExecutorOptions", "Outcome", "PlannedRun",
           "RunsFailed", "attempt", "describe", "execute", "reuse_state", "train_or_reuse"]
