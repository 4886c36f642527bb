"""The ``ray`` executor: each planned run is a Ray task.

Without an address a Ray instance is started on this machine (and shut down afterwards); with
``address="auto"`` (a node that joined a cluster with ``ray start``) or ``"ray://host:10001"``
the runs go to that cluster. A Ray instance that is already initialised in this process (a
notebook, the test suite) is used as it is.

Each task gets one GPU where the cluster has GPUs (and the run's ``train.device`` is not
``cpu``), else ``threads`` CPUs, and sets torch's thread count to match, so that two runs on
two cores do not oversubscribe them. At most ``workers`` tasks run at once. A task trains from
the run's config alone (`aelab.executors.attempt`, the one reuse rule) into its folder under
the output folder, which every node must be able to write: the driver reads the finished
folders afterwards to score them. Runs the reuse rule keeps as they are never leave the
driver, so a re-run after a failure trains only what is missing.

Ray is imported only here, and only when the executor runs.
"""

from __future__ import annotations

import logging
import math
import platform
from dataclasses import replace
from pathlib import Path

from ..errors import AelabError, ConfigError
from . import ExecutorOptions, Outcome, PlannedRun, attempt, reuse_state

log = logging.getLogger(__name__)

INSTALL = "pip install 'aelab[ray]'"


def check(options: ExecutorOptions) -> None:
    """Ray must be installed (a ConfigError says how to install it)."""
    import_ray()


def import_ray():
    """The `ray` module, or a ConfigError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--executor ray needs Ray, which is not installed here: "
                          f"{INSTALL}") from None
    return ray


def _train_task(name: str, config: dict, folder: str, threads: int,
                command: list[str]) -> Outcome:
    """Body of one Ray task: rebuild the config, set torch's threads, train or reuse."""
    import torch

    from ..config import RunConfig

    torch.set_num_threads(threads)
    planned = PlannedRun(name, RunConfig.from_dict(config))
    return attempt(planned, Path(folder), command=command, node=platform.node())


def _connect(ray, address: str | None) -> bool:
    """Join (or start) Ray; True when this call started it (and must shut it down)."""
    if ray.is_initialized():
        return False
    kwargs = {"address": address} if address else {"include_dashboard": False}
    try:
        ray.init(logging_level=logging.WARNING, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        raise AelabError(f"cannot join {where}: {str(e).rstrip('.')}. Start a cluster with "
                         "`ray start --head` (see the README's Executors section) or leave out "
                         "--address to start one on this machine.") from e
    return True


def plan_resources(cluster: dict, node_cpus: int, options: ExecutorOptions,
                   n_runs: int) -> tuple[int, int, bool]:
    """``(workers, threads, gpus)`` for `n_runs` runs on a cluster with `cluster` resources
    (Ray's ``cluster_resources()``) whose largest node has `node_cpus` CPUs."""
    cpus, gpus = int(cluster.get("CPU", 0)), int(cluster.get("GPU", 0))
    workers = options.workers or (gpus or max(1, cpus // (options.threads or 1)))
    workers = max(1, min(workers, n_runs))
    threads = options.threads or max(1, min(node_cpus, cpus // workers))
    if threads > node_cpus:
        raise ConfigError(f"--threads {threads} is more than the CPUs of any node of the Ray "
                          f"cluster ({node_cpus}); no run could be scheduled. Use --threads "
                          f"{node_cpus} or fewer.")
    return workers, threads, gpus > 0


def _failure(ray, p: PlannedRun, folder: Path, error: Exception) -> Outcome:
    """The outcome of a task that raised past `attempt` (a bug) or died (a lost node)."""
    cause = getattr(error, "cause", None) if isinstance(error, ray.exceptions.RayTaskError) \
        else None
    message = f"{type(cause).__name__}: {cause}" if cause is not None else \
        f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}"
    return Outcome(p.name, folder, "train", math.nan, message)


def run(planned: list[PlannedRun], runs_dir: Path, options: ExecutorOptions, *, progress,
        callbacks, command: list[str], on_done) -> list[Outcome]:
    """Train the runs the reuse rule does not keep as Ray tasks, at most `workers` at a time;
    report each as it finishes. (`progress` and `callbacks` stay on the driver: tasks are
    reported per run.)"""
    ray = import_ray()
    outcomes: dict[str, Outcome] = {}
    todo = []
    for p in planned:
        if reuse_state(p, runs_dir / p.name) == "reuse":
            outcomes[p.name] = Outcome(p.name, runs_dir / p.name, "reuse", 0.0)
            on_done(outcomes[p.name])
        else:
            todo.append(p)
    if todo:
        started = _connect(ray, options.address)
        try:
            ran = _run_tasks(ray, todo, runs_dir.resolve(), options, command, on_done)
            outcomes |= {name: replace(o, folder=runs_dir / name) for name, o in ran.items()}
        finally:
            if started:
                ray.shutdown()
    return [outcomes[p.name] for p in planned]


def _run_tasks(ray, todo: list[PlannedRun], runs_dir: Path, options: ExecutorOptions,
               command: list[str], on_done) -> dict[str, Outcome]:
    node_cpus = max(int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n["Alive"])
    workers, threads, gpus = plan_resources(ray.cluster_resources(), node_cpus, options,
                                            len(todo))
    log.info("ray: %d run(s), %d at a time, %d thread(s) each%s", len(todo), workers, threads,
             ", one GPU each" if gpus else "")
    task = ray.remote(_train_task)
    queue, pending, outcomes = list(todo), {}, {}
    try:
        while queue or pending:
            while queue and len(pending) < workers:
                p = queue.pop(0)
                gpu = 1 if gpus and p.config.train.device != "cpu" else 0
                ref = task.options(num_cpus=threads, num_gpus=gpu, name=f"aelab:{p.name}") \
                    .remote(p.name, p.config.to_dict(), str(runs_dir / p.name), threads, command)
                pending[ref] = p
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            p = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as e:     # the task died or raised a bug
                outcome = _failure(ray, p, runs_dir / p.name, e)
            outcomes[p.name] = outcome
            on_done(outcome)
    finally:
        for ref in pending:                          # interrupted: stop what still runs
            ray.cancel(ref, force=True)
    return outcomes
