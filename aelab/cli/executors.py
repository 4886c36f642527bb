"""The executor flags shared by `aelab study`, `aelab cv` and `aelab sweep`."""

from __future__ import annotations

import argparse


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {value}")
    return value


def add_executor_args(sp: argparse.ArgumentParser) -> None:
    """--executor, --address, --workers, --threads (see `aelab.executors.ExecutorOptions`)."""
    g = sp.add_argument_group("executor (where the runs train)")
    g.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: one run after another in this process (default); ray: each "
                        "run a Ray task (pip install 'aelab[ray]')")
    g.add_argument("--address", help="ray: join this cluster ('auto' on a node that ran "
                                     "`ray start`, or ray://host:10001); default: start Ray "
                                     "on this machine")
    g.add_argument("--workers", type=_at_least_one, metavar="N",
                   help="ray: at most N runs at once (default: one per GPU, else per CPU)")
    g.add_argument("--threads", type=_at_least_one, metavar="T",
                   help="torch CPU threads per run (ray default: CPUs // workers)")


def executor_options(args):
    """The `ExecutorOptions` the parsed flags ask for."""
    from ..executors import ExecutorOptions

    return ExecutorOptions(args.executor, address=args.address, workers=args.workers,
                           threads=args.threads)
