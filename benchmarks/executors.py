"""Wall time of a study and of a cross-validation with the local executor and on Ray.

Two workloads, each run as the `aelab` command a user types, in a fresh process and a fresh
output folder (so nothing is reused):

- ``aelab study quickstart --quick`` (2 small runs: seconds of training);
- ``aelab cv configs/demo.toml --folds 4`` (4 runs of the 40-epoch demo on the digits);

each with ``--executor local`` (one run after another, torch's default threads), with
``--executor local --threads 1`` (one after another, one thread each), and with
``--executor ray --workers 2 --threads 1`` (two single-threaded runs at once on a Ray instance
started by the command). The wall time includes Ray's start (a few seconds), because the user
waits for it too. The variants run interleaved (a, b, a, b, ...) and the median of `--repeats`
is reported, with the speed-up of Ray over local. Run it alone on the machine (the load average
is recorded at the start and the end): other processes on the cores make timings meaningless.

    .venv/bin/python benchmarks/executors.py        # -> benchmarks/results/executors.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "executors.json"
WORKLOADS = {
    "quickstart --quick": ["study", "quickstart", "--quick"],
    "cv demo --folds 4": ["cv", "configs/demo.toml", "--folds", "4"],
    # the same folds trained 5x longer: Ray's fixed start-up cost (~8 s) matters less
    "cv demo --folds 4, 200 epochs": ["cv", "configs/demo.toml", "--folds", "4", "--set",
                                      "train.epochs=200"],
}
EXECUTORS = {
    "local": ["--executor", "local"],
    "local --threads 1": ["--executor", "local", "--threads", "1"],
    "ray --workers 2 --threads 1": ["--executor", "ray", "--workers", "2", "--threads", "1"],
}


def measure(args: list[str]) -> float:
    """Seconds of one `aelab` command in a fresh process and output folder."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "aelab.cli", *args, "--out", str(Path(tmp) / "o")],
                       cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return time.perf_counter() - t0


def _records(workloads: dict, seconds: dict) -> list[dict]:
    """One flat record per measured (workload, executor): median, min, max, the speed-up."""
    records = []
    for workload, command in workloads.items():
        local = seconds.get((workload, "local"))
        single = seconds.get((workload, "local --threads 1"))
        for executor, flags in EXECUTORS.items():
            ts = seconds.get((workload, executor))
            if not ts:
                continue
            records.append({
                "workload": workload, "executor": executor,
                "command": " ".join(["aelab", *command, *flags, "--out", "<tmp>"]),
                "repeats": len(ts), "median_seconds": statistics.median(ts),
                "min_seconds": min(ts), "max_seconds": max(ts),
                "speedup_vs_local": statistics.median(local) / statistics.median(ts)
                if local else None,
                # the comparison: single-threaded runs, one at a time vs two at once
                "speedup_vs_local_1_thread": statistics.median(single) / statistics.median(ts)
                if single else None})
    return records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--workload", action="append", choices=list(WORKLOADS),
                   help="measure this workload (repeatable; default: the first two)")
    args = p.parse_args(argv)
    workloads = {w: WORKLOADS[w] for w in args.workload or list(WORKLOADS)[:2]}

    sys.path.insert(0, str(REPO))          # this checkout's aelab, as the measured commands
    from aelab.provenance import command_line, provenance

    load_start = os.getloadavg()[0]
    seconds: dict[tuple[str, str], list[float]] = {}
    for repeat in range(args.repeats):
        for workload, command in workloads.items():
            for executor, flags in EXECUTORS.items():
                t = measure([*command, *flags])
                seconds.setdefault((workload, executor), []).append(t)
                print(f"[{repeat + 1}/{args.repeats}] {workload} / {executor}: {t:.1f} s",
                      flush=True)
                # written after every measurement: an interrupted run keeps what it measured
                records = _records(workloads, seconds)
                result = {**provenance(command_line([sys.executable, *sys.argv])),
                          "repeats_planned": args.repeats, "load_average_start": load_start,
                          "load_average_end": os.getloadavg()[0], "records": records}
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(result, indent=1) + "\n")
    for r in records:
        print(f"{r['workload']:<20} {r['executor']:<28} {r['median_seconds']:7.1f} s  "
              f"x{r['speedup_vs_local']:.2f}")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
