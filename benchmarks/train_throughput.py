"""Training throughput: aelab's loop in fp32 and bf16, against a plain DataLoader loop.

For the dense autoencoder of configs/mnist_dense.toml (784-512-256-128-30, MSE) and the conv
autoencoder of configs/mnist_conv.toml (32/64 channels, batch norm, dense bottleneck, BCE) on
MNIST (batch 32 and 256), train a fresh model for `--epochs` passes over `--images` training
images with each variant, a loop at a precision (``train.precision``):

- ``aelab``: `aelab.train.fit` (uint8 tensor sliced per batch, fused Adam, subnormals
  flushed, freed memory kept in the process: see aelab/_cpu.py), in ``fp32`` and in ``bf16``
  (autocast; weights, optimizer and loss in fp32);
- ``aelab_default_malloc``: the same with glibc's allocator left at its defaults
  (``AELAB_KEEP_MALLOC=1``), as aelab was before it kept freed memory;
- ``dataloader``: the loop most tutorials write: a float32 `TensorDataset`,
  `torch.utils.data.DataLoader(shuffle=True)`, `torch.optim.Adam` with its defaults, torch's
  default floating-point mode and allocator settings;
- ``dataloader_fused``: the same DataLoader loop with fused Adam;
- ``dataloader_fused_ftz``: the same with fused Adam and subnormals flushed to zero, so the
  gap to ``aelab`` is what batching by slicing alone buys.

The DataLoader loops run in fp32 unless asked otherwise (``--variants dataloader:bf16``: the
forward under the same autocast as aelab's). Several epochs, because the subnormal slowdown
(see aelab/_cpu.py) appears only after the first. Each measurement runs in its own process
(floating-point mode and the thread pool are process state); the variants run interleaved
(a, b, c, d, a, b, ...) and the median of the repeats is reported. Run alone on the machine:
a second busy process slows an epoch 2-15x.

    AELAB_DATA=../shared/datasets .venv/bin/python benchmarks/train_throughput.py

``--quick`` (1 epoch on 1024 / 512 images, 1 repeat) checks the whole path in a minute or
two and writes to a temporary file unless ``--out`` is given.
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

import numpy as np
import torch

from aelab.config import RunConfig, TrainConfig
from aelab.data import load_dataset
from aelab.losses import build_objective
from aelab.models import create_model
from aelab.precision import as_fp32, autocast
from aelab.provenance import command_line, provenance
from aelab.train import Batches, fit, seeded

ROOT = Path(__file__).resolve().parent.parent
# model -> the run config whose model and loss it trains
MODELS = {"dense": "configs/mnist_dense.toml", "conv": "configs/mnist_conv.toml"}
# loop -> (environment for its process, fused Adam); aelab decides its own settings
KEEP_MALLOC = {"AELAB_KEEP_MALLOC": "1"}
LOOPS = {
    "aelab": ({}, None),
    "aelab_default_malloc": (KEEP_MALLOC, None),
    "dataloader": ({"AELAB_KEEP_DENORMALS": "1"} | KEEP_MALLOC, False),
    "dataloader_fused": ({"AELAB_KEEP_DENORMALS": "1"} | KEEP_MALLOC, True),
    "dataloader_fused_ftz": (KEEP_MALLOC, True),
}
PRECISIONS = ("fp32", "bf16")
VARIANTS = ["aelab:fp32", "aelab:bf16", "aelab_default_malloc:fp32", "aelab_default_malloc:bf16",
            "dataloader:fp32", "dataloader_fused:fp32", "dataloader_fused_ftz:fp32"]


def variant(text: str) -> tuple[str, str]:
    """``loop:precision`` (precision fp32 when left out) -> (loop, precision)."""
    loop, _, precision = text.partition(":")
    precision = precision or "fp32"
    if loop not in LOOPS or precision not in PRECISIONS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not LOOP[:PRECISION] with LOOP one of {', '.join(LOOPS)} and "
            f"PRECISION one of {', '.join(PRECISIONS)}")
    return loop, precision


def build(model_name: str, seed: int):
    """The model and objective of `model_name`'s config, the model built seeded."""
    cfg = RunConfig.from_file(ROOT / MODELS[model_name])
    with seeded(seed):
        model = create_model(cfg.model.name, input_shape=(1, 28, 28), **cfg.model.kwargs)
    return model, build_objective(cfg.loss, model)


def model_spec(model_name: str) -> dict:
    cfg = RunConfig.from_file(ROOT / MODELS[model_name])
    return {"config": MODELS[model_name], "model": cfg.model.to_dict(), "loss": cfg.loss.name}


def time_aelab(model_name, x_uint8, batch_size, epochs, seed, precision) -> float:
    model, objective = build(model_name, seed)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=1e-3, seed=seed,
                      precision=precision)
    train = Batches(x_uint8, batch_size=batch_size, shuffle=True, seed=seed)
    t0 = time.perf_counter()
    fit(model, objective, train, None, cfg, device=torch.device("cpu"))
    return epochs * len(x_uint8) / (time.perf_counter() - t0)


def time_dataloader(model_name, x_uint8, batch_size, epochs, seed, precision,
                    fused: bool) -> float:
    model, objective = build(model_name, seed)
    x = torch.from_numpy(x_uint8).float().div_(255.0)          # the usual float32 dataset
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x),
                                         batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True if fused else None)
    cpu = torch.device("cpu")
    model.train()
    t0 = time.perf_counter()
    for _ in range(epochs):
        for (xb,) in loader:
            with autocast(cpu, precision):
                out = model(xb)
            loss = objective(xb, as_fp32(out))["total"]
            opt.zero_grad()
            loss.backward()
            opt.step()
    return epochs * len(x_uint8) / (time.perf_counter() - t0)


def worker(args) -> None:
    """One measurement in this process; prints images per second."""
    x = np.ascontiguousarray(load_dataset("mnist").x_train[: args.images])
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # pays the one-time torch._dynamo import
    _, fused = LOOPS[args.loop]
    if args.loop.startswith("aelab"):
        ips = time_aelab(args.model, x, args.batch_size, args.epochs, args.seed, args.precision)
    else:
        ips = time_dataloader(args.model, x, args.batch_size, args.epochs, args.seed,
                              args.precision, fused)
    print(json.dumps({"images_per_second": ips, "torch_threads": torch.get_num_threads()}))


def measure(args, loop: str, precision: str, model: str, batch_size: int, images: int,
            seed: int) -> float:
    env = os.environ | LOOPS[loop][0]
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    cmd = [sys.executable, __file__, "--worker", "--loop", loop, "--precision", precision,
           "--model", model, "--batch-size", str(batch_size), "--images", str(images),
           "--epochs", str(args.epochs), "--seed", str(seed)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["images_per_second"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=12800, help="training images per epoch (dense)")
    p.add_argument("--conv-images", type=int, default=6400, help="the same for the conv model")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--variants", nargs="+", type=variant, default=[variant(v) for v in VARIANTS],
                   metavar="LOOP[:PRECISION]",
                   help=f"loops and precisions to time (default: {' '.join(VARIANTS)})")
    p.add_argument("--threads", type=int, default=None,
                   help="OMP_NUM_THREADS for every measurement (default: torch's own choice)")
    p.add_argument("--quick", action="store_true",
                   help="1 epoch on 1024 (conv: 512) images, 1 repeat, output to a temporary file")
    p.add_argument("--out", type=Path, default=None,
                   help="default: benchmarks/results/train_throughput.json (--quick: a temporary "
                        "file)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--loop", help=argparse.SUPPRESS)
    p.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    if args.quick:
        args.images, args.conv_images, args.epochs, args.repeats = 1024, 512, 1, 1
    out = args.out or (Path(tempfile.gettempdir()) / "aelab_train_throughput_quick.json"
                       if args.quick else Path("benchmarks/results/train_throughput.json"))

    records = []
    for model_name in args.models:
        images = args.images if model_name == "dense" else args.conv_images
        for bs in args.batch_sizes:
            runs: dict[tuple[str, str], list[float]] = {v: [] for v in args.variants}
            for r in range(args.repeats):
                for loop, precision in args.variants:
                    runs[loop, precision].append(
                        measure(args, loop, precision, model_name, bs, images, r))
            for (loop, precision), values in runs.items():
                rec = {"model": model_name, "batch_size": bs, "loop": loop,
                       "precision": precision,
                       "images_per_second": round(statistics.median(values), 1),
                       "min": round(min(values), 1), "max": round(max(values), 1),
                       "repeats": len(values), "images_per_epoch": images,
                       "epochs": args.epochs}
                records.append(rec)
                print(json.dumps(rec), flush=True)
            med = {v: statistics.median(values) for v, values in runs.items()}
            if ("aelab", "fp32") in med and ("dataloader", "fp32") in med:
                print(f"{model_name} batch {bs}: aelab / dataloader (fp32) = "
                      f"{med['aelab', 'fp32'] / med['dataloader', 'fp32']:.2f}x", flush=True)
            if ("aelab", "fp32") in med and ("aelab", "bf16") in med:
                print(f"{model_name} batch {bs}: aelab bf16 / fp32 = "
                      f"{med['aelab', 'bf16'] / med['aelab', 'fp32']:.2f}x", flush=True)
    result = {
        "benchmark": "train_throughput",
        **provenance(command_line([sys.executable, *sys.argv])),
        "models": {name: model_spec(name) for name in args.models},
        "records": records,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
