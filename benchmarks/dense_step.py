"""Where one training step of the peer benchmark's dense autoencoder goes, in fp32 and bf16.

The model is the peer benchmark's (784-512-16-512-784, ReLU; aelab ``dense``, hidden [512],
latent 16; MSE after the sigmoid; fused Adam, lr 1e-3). For each batch size and precision, in
one process, the same steps as `aelab.train.fit` takes on a fixed random batch:

- ``forward_ms``, ``backward_ms``, ``optimizer_ms``, ``zero_grad_ms``: wall time of each part
  of a step, median over `--steps` steps after a warm-up (``step_ms`` is their sum);
- ``gemm_alone_ms``: the same 11 products alone, on preallocated outputs, best of 5 blocks:
  the peer benchmark's GEMM limit;
- ``adam_alone_ms``: the fused Adam step alone on the model's 821,024 parameters;
- ``floor_ms`` = gemm_alone + adam_alone: what no rearrangement of the loop around the
  products and the optimizer can remove, and ``rest_ms`` = step - floor: everything else
  (autograd, bias gradients, activations, loss, autocast's casts, Python);
- ``budget_75pct_ms``: the time a step may take to reach 75 % of the fp32 GEMM limit (issue
  24's goal), and ``rest_budget_ms`` = budget - floor: what would be left for the rest.

(`torch.profiler`'s self time of the products inside the steps was tried as a third measure
and dropped: it varied 1.2-2.9 ms between identical runs at batch 128.)

    python benchmarks/dense_step.py --batch-sizes 32 128 512

writes benchmarks/results/dense_step.json. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from aelab import _cpu
from aelab.config import LossConfig, TrainConfig
from aelab.losses import build_objective
from aelab.models import create_model
from aelab.precision import as_fp32, autocast
from aelab.provenance import command_line, provenance
from aelab.train.loop import build_optimizer

HIDDEN, LATENT = [512], 16


def build():
    torch.manual_seed(0)
    model = create_model("dense", (1, 28, 28), latent_dim=LATENT, hidden=HIDDEN,
                         activation="relu")
    objective = build_objective(LossConfig(name="mse"), model)
    return model, objective, build_optimizer(model.parameters(), TrainConfig())


def timed_steps(bs: int, precision: str, steps: int) -> dict:
    model, objective, opt = build()
    device = torch.device("cpu")
    x = torch.rand(bs, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    parts = {"forward": [], "zero_grad": [], "backward": [], "optimizer": []}

    def step(record: bool) -> None:
        t0 = time.perf_counter()
        with autocast(device, precision):
            out = model(x)
        terms = objective(x, as_fp32(out))
        bool(torch.isfinite(terms["total"]))
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        t2 = time.perf_counter()
        terms["total"].backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        if record:
            for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                parts[k].append(v)

    for _ in range(50):
        step(False)
    for _ in range(steps):
        step(True)
    med = {f"{k}_ms": statistics.median(v) * 1e3 for k, v in parts.items()}
    return med | {"step_ms": sum(med.values())}


def gemm_alone_ms(bs: int, dtype: torch.dtype) -> float:
    """The 11 products of one step (forward X @ W.T, backward dY @ W and dY.T @ X per layer;
    not the first layer's input gradient), on preallocated outputs, best of 5 blocks."""
    dims = [784, *HIDDEN, LATENT, *reversed(HIDDEN), 784]
    gemms = []
    for i, (k, n) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        x, w, dy = (torch.rand(bs, k, dtype=dtype), torch.rand(n, k, dtype=dtype),
                    torch.rand(bs, n, dtype=dtype))
        gemms.append((x, w.t()))
        if i > 0:
            gemms.append((dy, w))
        gemms.append((dy.t(), x))
    outs = [torch.empty(a.shape[0], b.shape[1], dtype=dtype) for a, b in gemms]

    def block(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            for (a, b), o in zip(gemms, outs, strict=True):
                torch.mm(a, b, out=o)
        return (time.perf_counter() - t0) / n

    block(20)
    return min(block(100) for _ in range(5)) * 1e3


def adam_alone_ms(steps: int) -> float:
    model, _, opt = build()
    for p in model.parameters():
        p.grad = torch.rand_like(p)
    for _ in range(20):
        opt.step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/dense_step.json"))
    args = p.parse_args()
    _cpu.configure()
    adam = adam_alone_ms(args.steps)
    records = []
    for bs in args.batch_sizes:
        limit_fp32 = gemm_alone_ms(bs, torch.float32)
        for precision in args.precisions:
            dtype = torch.float32 if precision == "fp32" else torch.bfloat16
            rec = {"batch_size": bs, "precision": precision, **timed_steps(bs, precision,
                                                                            args.steps)}
            rec["gemm_alone_ms"] = limit_fp32 if dtype == torch.float32 else \
                gemm_alone_ms(bs, dtype)
            rec["adam_alone_ms"] = adam
            rec["floor_ms"] = rec["gemm_alone_ms"] + adam
            rec["rest_ms"] = rec["step_ms"] - rec["floor_ms"]
            rec["fp32_gemm_limit_images_per_second"] = bs / limit_fp32 * 1e3
            rec["budget_75pct_ms"] = limit_fp32 / 0.75
            rec["rest_budget_ms"] = rec["budget_75pct_ms"] - rec["floor_ms"]
            rec["images_per_second"] = bs / rec["step_ms"] * 1e3
            rec["share_of_fp32_gemm_limit"] = limit_fp32 / rec["step_ms"]
            rec = {k: round(v, 4) if isinstance(v, float) else v for k, v in rec.items()}
            records.append(rec)
            print(json.dumps(rec), flush=True)
    result = {"benchmark": "dense_step", **provenance(command_line([sys.executable, *sys.argv])),
              "model": "aelab dense, hidden [512], latent 16 (784-512-16-512-784), mse, "
                       "fused Adam", "records": records}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
