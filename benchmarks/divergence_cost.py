"""Cost per batch of the divergence regularizers (CS and ED), beside the autoencoder step.

For batch sizes 100..2000 and code sizes 3 and 10, time one forward + backward of the
regularizer alone (prior sampling included: the gmm prior, as drawn in training) and one
forward + backward of the ITL autoencoder (784-800-400-3, BCE) on the same batch, on the CPU.
Median of `--repeats` timings after warm-up. Run under the CPU lock so nothing else runs:

    flock /tmp/aelab-cpu.lock .venv/bin/python benchmarks/divergence_cost.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from aelab.config import LossConfig
from aelab.losses import build_objective
from aelab.losses.divergence import PriorDivergence
from aelab.models import Output, create_model
from aelab.priors import create_prior
from aelab.provenance import machine, versions
from aelab.train import seeded

BATCHES = (100, 250, 500, 1000, 2000)
DIMS = (3, 10)


def median_seconds(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def regularizer_step(divergence: str, batch: int, dim: int):
    reg = PriorDivergence(divergence, create_prior("gmm", dim=dim, layout="random"), sigma=1.0)
    z = torch.randn(batch, dim, requires_grad=True)
    x = torch.zeros(1)

    def step():
        z.grad = None
        reg(Output(z=z, x_logits=x), 784).backward()
    return step


def model_step(batch: int, dim: int):
    model = create_model("dense", (1, 28, 28), latent_dim=dim, hidden=[800, 400],
                         activation="tanh", decoder_activation="relu")
    objective = build_objective(LossConfig(name="bce"), model)
    x = torch.rand(batch, 1, 28, 28)

    def step():
        model.zero_grad(set_to_none=True)
        objective(x, model(x))["total"].backward()
    return step


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default="benchmarks/results/divergence_cost.json")
    args = parser.parse_args(argv)
    with seeded(0):     # random inputs; only their cost is measured
        return _run(args, argv)


def _run(args, argv) -> int:
    records = []
    for dim in DIMS:
        for batch in BATCHES:
            ae = median_seconds(model_step(batch, dim), max(3, args.repeats // 4))
            for divergence in ("cs", "ed"):
                sec = median_seconds(regularizer_step(divergence, batch, dim), args.repeats)
                records.append({"divergence": divergence, "dim": dim, "batch_size": batch,
                                "regularizer_ms": round(1e3 * sec, 3),
                                "autoencoder_step_ms": round(1e3 * ae, 3),
                                "regularizer_fraction": round(sec / (sec + ae), 4)})
                print(records[-1], flush=True)
    out = {"benchmark": "divergence_cost",
           "command": "flock /tmp/aelab-cpu.lock .venv/bin/python benchmarks/divergence_cost.py"
                      + (" " + " ".join(sys.argv[1:]) if argv is None and sys.argv[1:] else ""),
           "machine": machine(), "versions": versions(),
           "records": records}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
