"""Training throughput: aelab's loop against a plain DataLoader loop over the same model.

For the dense 784-512-256-128-30 autoencoder and a small conv autoencoder on MNIST (batch 32
and 256), train a fresh model for `--epochs` passes over `--images` training images with

- ``aelab``: `aelab.train.fit` (uint8 tensor sliced per batch, fused Adam, subnormals flushed);
- ``dataloader``: the loop most tutorials write: a float32 `TensorDataset`,
  `torch.utils.data.DataLoader(shuffle=True)`, `torch.optim.Adam` with its defaults, torch's
  default floating-point mode;
- ``dataloader_fused``: the same DataLoader loop with fused Adam;
- ``dataloader_fused_ftz``: the same with fused Adam and subnormals flushed to zero, so the
  gap to ``aelab`` is what batching by slicing alone buys.

Several epochs, because the subnormal slowdown (see aelab/_cpu.py) appears only after the first.
Each measurement runs in its own process (floating-point mode and the thread pool are process
state); the variants run interleaved (a, b, c, d, a, b, ...) and the median of the repeats is
reported. Run alone on the machine: a second busy process slows an epoch 2-15x.

    AELAB_DATA=../shared/datasets .venv/bin/python benchmarks/train_throughput.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from aelab.config import LossConfig, TrainConfig
from aelab.data import load_dataset
from aelab.losses import build_objective
from aelab.models import create_model
from aelab.provenance import machine, versions
from aelab.train import Batches, fit, seeded

MODELS = {
    "dense": {"name": "dense", "latent_dim": 30, "hidden": [512, 256, 128]},
    "conv": {"name": "conv", "latent_dim": 16, "channels": [16, 32]},
}
# loop -> (environment for its process, fused Adam); aelab decides its own settings
LOOPS = {
    "aelab": ({}, None),
    "dataloader": ({"AELAB_KEEP_DENORMALS": "1"}, False),
    "dataloader_fused": ({"AELAB_KEEP_DENORMALS": "1"}, True),
    "dataloader_fused_ftz": ({}, True),
}


def build(model_name: str, seed: int):
    spec = dict(MODELS[model_name])
    with seeded(seed):
        return create_model(spec.pop("name"), input_shape=(1, 28, 28), **spec)


def time_aelab(model_name, x_uint8, batch_size, epochs, seed) -> float:
    model = build(model_name, seed)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=1e-3, seed=seed)
    objective = build_objective(LossConfig(name="mse"), model)
    train = Batches(x_uint8, batch_size=batch_size, shuffle=True, seed=seed)
    t0 = time.perf_counter()
    fit(model, objective, train, None, cfg, device=torch.device("cpu"))
    return epochs * len(x_uint8) / (time.perf_counter() - t0)


def time_dataloader(model_name, x_uint8, batch_size, epochs, seed, fused: bool) -> float:
    model = build(model_name, seed)
    x = torch.from_numpy(x_uint8).float().div_(255.0)          # the usual float32 dataset
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x),
                                         batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True if fused else None)
    model.train()
    t0 = time.perf_counter()
    for _ in range(epochs):
        for (xb,) in loader:
            loss = F.mse_loss(torch.sigmoid(model(xb).x_logits), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return epochs * len(x_uint8) / (time.perf_counter() - t0)


def worker(args) -> None:
    """One measurement in this process; prints images per second."""
    x = np.ascontiguousarray(load_dataset("mnist").x_train[: args.images])
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # pays the one-time torch._dynamo import
    _, fused = LOOPS[args.loop]
    if args.loop == "aelab":
        ips = time_aelab(args.model, x, args.batch_size, args.epochs, args.seed)
    else:
        ips = time_dataloader(args.model, x, args.batch_size, args.epochs, args.seed, fused)
    print(json.dumps({"images_per_second": ips, "torch_threads": torch.get_num_threads()}))


def measure(args, loop: str, model: str, batch_size: int, images: int, seed: int) -> float:
    env = os.environ | LOOPS[loop][0]
    cmd = [sys.executable, __file__, "--worker", "--loop", loop, "--model", model,
           "--batch-size", str(batch_size), "--images", str(images),
           "--epochs", str(args.epochs), "--seed", str(seed)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["images_per_second"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=12800, help="training images per epoch (dense)")
    p.add_argument("--conv-images", type=int, default=6400, help="the same for the conv model")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--loops", nargs="+", default=list(LOOPS), choices=list(LOOPS))
    p.add_argument("--out", default="benchmarks/results/train_throughput.json")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--loop", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return

    records = []
    for model_name in args.models:
        images = args.images if model_name == "dense" else args.conv_images
        for bs in args.batch_sizes:
            runs = {name: [] for name in args.loops}
            for r in range(args.repeats):
                for name in args.loops:
                    runs[name].append(measure(args, name, model_name, bs, images, r))
            for name, values in runs.items():
                rec = {"model": model_name, "batch_size": bs, "loop": name,
                       "images_per_second": round(statistics.median(values), 1),
                       "min": round(min(values), 1), "max": round(max(values), 1),
                       "repeats": len(values), "images_per_epoch": images,
                       "epochs": args.epochs}
                records.append(rec)
                print(json.dumps(rec), flush=True)
            if "aelab" in runs and "dataloader" in runs:
                ratio = statistics.median(runs["aelab"]) / statistics.median(runs["dataloader"])
                print(f"{model_name} batch {bs}: aelab / dataloader = {ratio:.2f}x", flush=True)
    result = {
        "benchmark": "train_throughput",
        "command": "AELAB_DATA=../shared/datasets .venv/bin/python benchmarks/train_throughput.py "
                   + " ".join(sys.argv[1:]),
        "machine": machine(), "versions": versions(),
        "records": records,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
