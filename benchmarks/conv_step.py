"""The conv autoencoder's training step with and without aelab's allocator setting.

The model of configs/mnist_conv.toml (32/64 channels, batch norm, dense bottleneck, BCE) in
channels-last, fused Adam, on a fixed random batch: 10 warm-up steps, then the median wall time
of `--steps` steps. Each measurement runs in its own process, because the allocator setting
(aelab/_cpu.py: glibc's mmap and trim thresholds raised) is process state: ``kept`` is aelab's
default, ``default`` sets ``AELAB_KEEP_MALLOC=1``. The two alternate, `--repeats` times each.
Recorded per process: ms a step, images/s, the page faults (minor) of the whole process and its
peak resident memory (`resource.getrusage`).

    python benchmarks/conv_step.py --batch-sizes 128 512 --precisions fp32 bf16

writes benchmarks/results/conv_step.json. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"kept": {}, "default": {"AELAB_KEEP_MALLOC": "1"}}


def worker(batch_size: int, precision: str, steps: int) -> dict:
    import torch

    from aelab import _cpu
    from aelab.config import LossConfig, TrainConfig
    from aelab.losses import build_objective
    from aelab.models import create_model
    from aelab.precision import as_fp32, autocast
    from aelab.train.loop import build_optimizer, memory_format

    _cpu.configure()
    torch.manual_seed(0)
    cfg = tomllib.loads((ROOT / "configs/mnist_conv.toml").read_text())
    spec = dict(cfg["model"])
    model = create_model(spec.pop("name"), (1, 28, 28), **spec)
    device = torch.device("cpu")
    fmt = memory_format(model, device)
    model.to(memory_format=fmt)
    objective = build_objective(LossConfig(name=cfg["loss"]["name"]), model)
    opt = build_optimizer(model.parameters(), TrainConfig())
    x = torch.rand(batch_size, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    x = x.contiguous(memory_format=fmt)

    def step() -> None:
        with autocast(device, precision):
            out = model(x)
        terms = objective(x, as_fp32(out))
        opt.zero_grad(set_to_none=True)
        terms["total"].backward()
        opt.step()

    for _ in range(10):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ms = statistics.median(times) * 1e3
    return {"step_ms": ms, "images_per_second": batch_size / ms * 1e3,
            "page_faults": usage.ru_minflt, "peak_rss_mb": usage.ru_maxrss / 1024,
            "malloc_tuned": _cpu._state.get("malloc", False),
            "torch_threads": torch.get_num_threads()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512])
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/conv_step.json"))
    p.add_argument("--worker", nargs=2, metavar=("BATCH", "PRECISION"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(int(args.worker[0]), args.worker[1], args.steps)))
        return
    from aelab.provenance import command_line, provenance

    records = []
    for bs in args.batch_sizes:
        for precision in args.precisions:
            for repeat in range(args.repeats):
                for setting, env in SETTINGS.items():
                    proc = subprocess.run(
                        [sys.executable, __file__, "--worker", str(bs), precision,
                         "--steps", str(args.steps)], env=os.environ | env,
                        capture_output=True, text=True, check=True)
                    rec = {"batch_size": bs, "precision": precision, "allocator": setting,
                           "repeat": repeat, **json.loads(proc.stdout.splitlines()[-1])}
                    rec = {k: round(v, 3) if isinstance(v, float) else v
                           for k, v in rec.items()}
                    records.append(rec)
                    print(json.dumps(rec), flush=True)
    result = {"benchmark": "conv_step", **provenance(command_line([sys.executable, *sys.argv])),
              "model": "configs/mnist_conv.toml", "records": records}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
