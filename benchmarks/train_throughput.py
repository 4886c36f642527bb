"""Training throughput: aelab's loop against a plain DataLoader loop over the same model.

For the dense 784-512-256-128-30 autoencoder (batch 32 and 256) and a small conv autoencoder
(batch 32 and 256) on MNIST, train one pass over `--images` training images with

- ``aelab``: `aelab.train.fit` (uint8 tensor sliced per batch, fused Adam);
- ``dataloader``: the loop most tutorials write: a float32 `TensorDataset`,
  `torch.utils.data.DataLoader(shuffle=True)`, `torch.optim.Adam` with its defaults;
- ``dataloader_fused``: the same DataLoader loop with fused Adam, to separate the two effects.

Variants run interleaved (a, b, c, a, b, c, ...) in one process and the median of the repeats
is reported. Run alone on the machine: a second busy process slows an epoch 2-15x.

    AELAB_DATA=../shared/datasets .venv/bin/python benchmarks/train_throughput.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from aelab.config import LossConfig, TrainConfig
from aelab.data import load_dataset
from aelab.losses import build_objective
from aelab.models import create_model
from aelab.train import Batches, fit

MODELS = {
    "dense": {"name": "dense", "latent_dim": 30, "hidden": [512, 256, 128]},
    "conv": {"name": "conv", "latent_dim": 16, "channels": [16, 32]},
}


def build(model_name: str, seed: int):
    torch.manual_seed(seed)
    spec = dict(MODELS[model_name])
    return create_model(spec.pop("name"), input_shape=(1, 28, 28), **spec)


def time_aelab(model_name, x_uint8, batch_size, seed) -> float:
    model = build(model_name, seed)
    cfg = TrainConfig(epochs=1, batch_size=batch_size, lr=1e-3, seed=seed)
    objective = build_objective(LossConfig(name="mse"), model)
    train = Batches(x_uint8, batch_size=batch_size, shuffle=True, seed=seed)
    t0 = time.perf_counter()
    fit(model, objective, train, None, cfg, device=torch.device("cpu"))
    return len(x_uint8) / (time.perf_counter() - t0)


def time_dataloader(model_name, x_uint8, batch_size, seed, fused: bool) -> float:
    model = build(model_name, seed)
    x = torch.from_numpy(x_uint8).float().div_(255.0)          # the usual float32 dataset
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x),
                                         batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True if fused else None)
    model.train()
    t0 = time.perf_counter()
    for (xb,) in loader:
        loss = F.mse_loss(torch.sigmoid(model(xb).x_logits), xb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return len(x_uint8) / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=12800, help="training images per pass")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--out", default="benchmarks/results/train_throughput.json")
    args = p.parse_args()

    data = load_dataset("mnist")
    x = np.ascontiguousarray(data.x_train[: args.images])
    loops = {
        "aelab": lambda m, b, s: time_aelab(m, x, b, s),
        "dataloader": lambda m, b, s: time_dataloader(m, x, b, s, fused=False),
        "dataloader_fused": lambda m, b, s: time_dataloader(m, x, b, s, fused=True),
    }
    records = []
    for model_name in args.models:
        for bs in args.batch_sizes:
            runs = {name: [] for name in loops}
            for loop in loops.values():                       # warm-up, not recorded
                loop(model_name, bs, 0)
            for r in range(args.repeats):
                for name, loop in loops.items():
                    runs[name].append(loop(model_name, bs, r))
            for name, values in runs.items():
                rec = {"model": model_name, "batch_size": bs, "loop": name,
                       "images_per_second": round(statistics.median(values), 1),
                       "min": round(min(values), 1), "max": round(max(values), 1),
                       "repeats": len(values), "images": len(x)}
                records.append(rec)
                print(json.dumps(rec))
            base = statistics.median(runs["dataloader"])
            print(f"{model_name} batch {bs}: aelab / dataloader = "
                  f"{statistics.median(runs['aelab']) / base:.2f}x")
    result = {
        "benchmark": "train_throughput",
        "command": "AELAB_DATA=../shared/datasets .venv/bin/python benchmarks/train_throughput.py",
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__},
        "records": records,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
