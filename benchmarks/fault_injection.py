"""Fault injection: SIGKILL a demo training at random points, resume it, and check that the
final weights are byte-identical to an uninterrupted run of the same seed.

Every trial starts ``aelab train`` (the demo config, shortened) in its own process with the
checkpoint test hook on (``AELAB_TEST_CHECKPOINT_PAUSE``, see `aelab.train.checkpoint`): each
checkpoint pauses after its temporary file is written and again after the rename, so the
windows between the checkpoint writes are wide and random kills land in them often. Once the
first checkpoint is committed, the trial sleeps a random time, sends SIGKILL, records where the
run was (the last hook point passed, the checkpoint's epoch, stale temporaries), then resumes
it with ``aelab train --resume`` (no hook) and compares ``model.safetensors`` with the
reference run's, byte for byte.

    PYTHONPATH=. .venv/bin/python benchmarks/fault_injection.py            # 20 kills
    PYTHONPATH=. .venv/bin/python benchmarks/fault_injection.py --kills 3  # a quick look

Writes ``benchmarks/results/fault_injection.json``: the exact command, machine, CPU model,
versions, and one flat record per kill. `tests/train/test_fault_injection.py` uses the same
functions to place kills exactly in each window.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "configs" / "demo.toml"
SETTINGS = ["train.epochs=6", "data.limit=400", "data.test_limit=100", "model.channels=[4, 8]"]
PAUSE_S = 0.4


def train_command(out: Path, settings=SETTINGS, resume: bool = False) -> list[str]:
    sets = [x for s in settings for x in ("--set", s)]
    if resume:
        return [sys.executable, "-m", "aelab.cli", "train", "--resume", str(out)]
    return [sys.executable, "-m", "aelab.cli", "train", str(DEMO), *sets, "--out", str(out)]


def _env(log: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("AELAB_TEST_CHECKPOINT_PAUSE", None)
    if log is not None:
        env |= {"AELAB_TEST_CHECKPOINT_PAUSE": str(PAUSE_S),
                "AELAB_TEST_CHECKPOINT_LOG": str(log)}
    return env


def run(cmd: list[str], log: Path | None = None) -> subprocess.CompletedProcess:
    """Run to the end; raise with its stderr when it fails."""
    done = subprocess.run(cmd, env=_env(log), capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done


def _points(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.is_file() else []


def start_and_kill(cmd: list[str], log: Path, *, at: str | None = None,
                   delay_s: float = 0.0) -> dict:
    """Start `cmd` with the hook on; SIGKILL it `delay_s` after hook point `at` (e.g.
    ``"2 written"``) is reached, or after `delay_s` past the first commit when `at` is None.
    Returns where it was when killed."""
    proc = subprocess.Popen(cmd, env=_env(log), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    target = at or "1 committed"
    t_end = time.monotonic() + 300
    while target not in _points(log) and proc.poll() is None and time.monotonic() < t_end:
        time.sleep(0.02)
    time.sleep(delay_s)
    finished = proc.poll() is not None
    if not finished:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    points = _points(log)
    return {"finished_before_kill": finished, "last_point": points[-1] if points else None,
            "points_passed": len(points), "returncode": proc.returncode}


def folder_state(out: Path) -> dict:
    from aelab.report.html import read_history
    from aelab.train.checkpoint import CHECKPOINT, read_checkpoint

    ckpt = out / CHECKPOINT
    history = out / "history.csv"
    return {"checkpoint_epoch": read_checkpoint(ckpt).epoch if ckpt.is_file() else None,
            "history_epochs": len(read_history(history)) if history.is_file() else None,
            "stale_temps": len(list(out.glob(".*.tmp")))}


def same_bytes(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


def trial(work: Path, reference: Path, k: int, rng: random.Random, *,
          max_delay_s: float = 5.0) -> dict:
    """One kill at a random time after the first commit, then a resume; a flat record."""
    out, log = work / f"run{k}", work / f"hook{k}.log"
    delay = rng.uniform(0.0, max_delay_s)
    killed = start_and_kill(train_command(out), log, delay_s=delay)
    state = folder_state(out)
    t0 = time.perf_counter()
    run(train_command(out, resume=True))
    resume_s = time.perf_counter() - t0
    identical = same_bytes(out / "model.safetensors", reference / "model.safetensors")
    record = {"kill": k, "delay_after_first_commit_s": round(delay, 3),
              **killed, **{f"after_kill_{key}": v for key, v in state.items()},
              "stale_temps_after_resume": len(list(out.glob(".*.tmp"))),
              "resume_seconds": round(resume_s, 2), "identical": identical}
    shutil.rmtree(out)
    return record


def _cpu_model() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return platform.processor()
    for line in text.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks/results/fault_injection.json")
    args = p.parse_args(argv)
    import numpy
    import torch

    import aelab

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="aelab-fault-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        run(train_command(work / "reference"))
        reference_s = time.perf_counter() - t0
        records = []
        for k in range(1, args.kills + 1):
            records.append(trial(work, work / "reference", k, rng))
            print(json.dumps(records[-1]), flush=True)
    result = {
        "benchmark": "fault_injection",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "train_command": " ".join(train_command(Path("<run>"))[1:]),
        "resume_command": " ".join(train_command(Path("<run>"), resume=True)[1:]),
        "hook_pause_s": PAUSE_S, "reference_seconds": round(reference_s, 2),
        "machine": platform.machine(), "platform": platform.platform(), "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "versions": {"aelab": aelab.__version__, "python": platform.python_version(),
                     "torch": torch.__version__, "numpy": numpy.__version__},
        "kills": len(records), "all_identical": all(r["identical"] for r in records),
        "records": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{sum(r['identical'] for r in records)}/{len(records)} identical -> {args.out}")
    return result


if __name__ == "__main__":
    main()
