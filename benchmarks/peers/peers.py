"""Peer benchmark: pythae 0.1.2's TrainingPipeline against `aelab train`, side by side.

The same model, data, optimizer and epochs for both (issue 24, item 6):

- model: pythae's default MLP autoencoder for MNIST, 784-512-16-512-784 (`AE` with its default
  `Encoder_AE_MLP` / `Decoder_AE_MLP`: Linear-ReLU-Linear, Linear-ReLU-Linear-Sigmoid), and
  aelab's ``dense`` model with ``hidden = [512]``, ``latent_dim = 16``, ReLU: the same layers,
  821,024 parameters each. aelab's decoder ends in logits and its ``mse`` loss applies the
  sigmoid, so the function computed is the same. One difference: pythae's loss sums the
  squared error over the pixels (then averages over the batch), aelab's averages over the
  pixels, a factor of 784 that Adam cancels but for its ``eps`` (1e-8);
- data: the MNIST training set (``AELAB_DATA``; ``--quick``: 2000 of its images), no
  validation split (``data.val_fraction = 0``; pythae gets no eval set), and for pythae the
  very arrays aelab trains on (aelab's `prepare_data` of the same config), as float32 in [0, 1];
- Adam, lr 1e-3, 5 epochs, batch 128 and batch 32; each tool keeps the best epoch on the
  training loss (pythae without an eval set; aelab's ``restore_best`` without validation);
- aelab in fp32 and in bf16 (``train.precision = "bf16"``); pythae in fp32 (its ``amp`` is
  CUDA only).

Each training runs in its own process, pythae's in its own environment
(benchmarks/peers/.venv-pythae: ``bash benchmarks/peers/setup_pythae.sh``), aelab's as
``python -m aelab.cli train --set ...``; the runs are interleaved (pythae, aelab fp32, aelab
bf16, GEMM limit, for each batch size, then again for the next repeat) and medians of the
repeats are reported. Training images/s counts the training passes only, summed over the
epochs: from each epoch's first batch to its last, with each tool's own data loading, loss,
backward, optimizer step and per-batch bookkeeping, and without start-up, data preparation,
the one-batch check, checkpoints or saving, and evaluation (aelab's ``history.csv``
``seconds``; pythae: a `TrainingCallback`, see pythae_worker.py). The test MSE is the mean
squared error per pixel on the 10,000 MNIST test images, of the kept model, in fp32.

The GEMM limit: the plain ``torch.mm`` rate of the model's own matrix products at the batch
size (per layer: the forward ``X @ W.T``, the backward ``dY @ W`` and ``dY.T @ X``), turned
into images/s. ``step`` counts the 11 products one training step computes (autograd skips the
first layer's input gradient) and is the limit the shares use; ``all`` counts 3 per layer (12).

    bash benchmarks/peers/setup_pythae.sh
    AELAB_DATA=/work/shared/datasets .venv/bin/python benchmarks/peers/peers.py

writes benchmarks/results/peers.json. Run it alone on the machine: a busy second process
slows a training 2-15x. ``--quick`` (1 epoch, 2000 images, 1 repeat) checks the whole path in
a minute or two and writes to a temporary file unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aelab.config import RunConfig
from aelab.files import read_json
from aelab.provenance import command_line, provenance

HERE = Path(__file__).resolve().parent
PYTHAE_PYTHON = HERE / ".venv-pythae" / "bin" / "python"
LATENT_DIM, HIDDEN = 16, [512]        # pythae's default MLP: 784-512-16


def aelab_overrides(batch_size: int, epochs: int, seed: int, precision: str,
                    limit: int | None) -> list[str]:
    sets = ["data.name=mnist", "data.val_fraction=0.0",
            "model.name=dense", f"model.latent_dim={LATENT_DIM}", f"model.hidden={HIDDEN}",
            "model.activation=relu", "loss.name=mse",
            "train.optimizer=adam", "train.lr=1e-3", f"train.epochs={epochs}",
            f"train.batch_size={batch_size}", f"train.seed={seed}", "train.device=cpu",
            f"train.precision={precision}"]
    return sets + ([f"data.limit={limit}"] if limit else [])


def write_data(path: Path, seed: int, limit: int | None) -> None:
    """The uint8 train and test arrays an aelab run with this seed and limit trains and tests
    on, for pythae."""
    from aelab.runs import prepare_data

    cfg = RunConfig().replace(aelab_overrides(128, 1, seed, "fp32", limit))
    splits = prepare_data(cfg)
    np.savez(path, x_train=splits.x_train, x_test=splits.x_test)


def run_json(cmd: list[str], env: dict | None = None) -> tuple[dict, float]:
    """Run `cmd`; its last stdout line parsed as JSON, and its wall-clock seconds."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"error: {shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), seconds


def run_pythae(args, work: Path, data: Path, bs: int, seed: int, env: dict) -> dict:
    out, seconds = run_json([str(args.pythae_python), str(HERE / "pythae_worker.py"),
                             "--data", str(data), "--batch-size", str(bs),
                             "--epochs", str(args.epochs), "--lr", "1e-3", "--seed", str(seed),
                             "--out", str(work / f"pythae-b{bs}-s{seed}")], env)
    return {"tool": "pythae", "batch_size": bs, "precision": "fp32",
            "images_per_second": out["images_per_second"], "test_mse": out["test_mse"],
            "train_seconds": out["train_seconds"], "process_seconds": seconds,
            "n_train": out["n_train"], "n_test": out["n_test"], "epochs": args.epochs,
            "seed": seed, "parameters": out["parameters"],
            "torch_threads": out["torch_threads"], "versions": out["versions"]}


def run_aelab(args, work: Path, bs: int, seed: int, precision: str, env: dict) -> dict:
    run_dir = work / f"aelab-b{bs}-{precision}-s{seed}"
    cmd = [sys.executable, "-m", "aelab.cli", "train", "--out", str(run_dir)]
    for s in aelab_overrides(bs, args.epochs, seed, precision, args.limit):
        cmd += ["--set", s]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"error: {shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    m = read_json(run_dir / "metrics.json", "metrics file")
    ran = read_json(run_dir / "env.json", "env file")
    return {"tool": "aelab", "batch_size": bs, "precision": ran["precision"],
            "images_per_second": m["train_images_per_second"], "test_mse": m["test_mse"],
            "train_seconds": m["train_seconds"], "process_seconds": seconds,
            "n_train": m["n_train"], "n_test": m["n_test"], "epochs": m["epochs"],
            "seed": seed, "parameters": m["parameters"],
            "torch_threads": ran["machine"]["torch_threads"]}


# --- the GEMM limit -------------------------------------------------------------------------

def layer_shapes() -> list[tuple[int, int]]:
    """(in, out) of each Linear layer of the benchmarked model, input to output."""
    from aelab.models import create_model

    model = create_model("dense", input_shape=(1, 28, 28), latent_dim=LATENT_DIM, hidden=HIDDEN)
    return [(m.in_features, m.out_features) for m in model.modules()
            if isinstance(m, torch.nn.Linear)]


def gemm_rate(bs: int, dtype: torch.dtype, seconds: float, blocks: int = 5) -> dict:
    """Images/s if a training step took only its GEMMs, at the best of `blocks` timings."""
    gen = torch.Generator().manual_seed(0)
    step, extra = [], []          # extra: the first layer's input gradient, never computed
    for i, (fan_in, fan_out) in enumerate(layer_shapes()):
        x, w, dy = (torch.randn(*s, generator=gen).to(dtype)
                    for s in ((bs, fan_in), (fan_out, fan_in), (bs, fan_out)))
        step += [(x, w.t(), torch.empty(bs, fan_out, dtype=dtype)),        # forward
                 (dy.t(), x, torch.empty(fan_out, fan_in, dtype=dtype))]    # weight gradient
        (extra if i == 0 else step).append((dy, w, torch.empty(bs, fan_in, dtype=dtype)))

    def per_step(gemms: list, n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            for a, b, out in gemms:
                torch.mm(a, b, out=out)
        return (time.perf_counter() - t0) / n

    result = {}
    for name, gemms in (("step", step), ("all", step + extra)):
        per_step(gemms, 20)                                    # warm-up
        n = max(10, int(seconds / blocks / per_step(gemms, 20)))
        best = min(per_step(gemms, n) for _ in range(blocks))
        flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in gemms)
        result[name] = {"images_per_second": bs / best, "gflops": flops / best / 1e9,
                        "gemms": len(gemms)}
    return result


def run_gemm(bs: int, precision: str, seconds: float, env: dict) -> dict:
    out, _ = run_json([sys.executable, __file__, "--gemm-worker", "--batch-size", str(bs),
                       "--precision", precision, "--gemm-seconds", str(seconds)], env)
    return {"batch_size": bs, "precision": precision, **out}


# --- the run --------------------------------------------------------------------------------

def median(records: list[dict], key: str, **match) -> float | None:
    values = [r[key] for r in records if all(r.get(k) == v for k, v in match.items())]
    return statistics.median(values) if values else None


def summarize(records: list[dict], gemms: list[dict], batch_sizes: list[int]) -> dict:
    out = {}
    for bs in batch_sizes:
        py = median(records, "images_per_second", tool="pythae", batch_size=bs)
        py_mse = median(records, "test_mse", tool="pythae", batch_size=bs)
        limit = median(gemms, "step_images_per_second", batch_size=bs, precision="fp32")
        s = {"pythae_images_per_second": py, "pythae_test_mse": py_mse,
             "gemm_limit_fp32_images_per_second": limit,
             "gemm_limit_bf16_images_per_second":
                 median(gemms, "step_images_per_second", batch_size=bs, precision="bf16")}
        for precision in ("fp32", "bf16"):
            ips = median(records, "images_per_second", tool="aelab", batch_size=bs,
                         precision=precision)
            mse = median(records, "test_mse", tool="aelab", batch_size=bs, precision=precision)
            if ips is None:
                continue
            s |= {f"aelab_{precision}_images_per_second": ips,
                  f"aelab_{precision}_test_mse": mse,
                  f"aelab_{precision}_over_pythae": ips / py if py else None,
                  f"aelab_{precision}_mse_over_pythae": mse / py_mse if py_mse else None,
                  f"aelab_{precision}_share_of_fp32_gemm_limit": ips / limit if limit else None}
        out[f"batch_{bs}"] = s
    out["goals"] = goals(out)
    return out


def goals(summary: dict) -> dict:
    """Issue 24's goals for this benchmark, each True, False or None (not measured)."""
    def get(bs, key):
        return summary.get(f"batch_{bs}", {}).get(key)

    def at_least(value, bound):
        return None if value is None else value >= bound

    def within(ratio, tolerance=0.01):
        return None if ratio is None else abs(ratio - 1) <= tolerance

    def bf16_mse_ok(bs):
        bf16, fp32 = get(bs, "aelab_bf16_test_mse"), get(bs, "aelab_fp32_test_mse")
        return None if bf16 is None or fp32 is None else within(bf16 / fp32)

    # the bf16 goal holds at any batch size of 128 or more: beyond the fp32 limit of that
    # batch size, with the test MSE within 1 % of fp32's at that batch size
    large = sorted(int(k.split("_")[1]) for k in summary if k.startswith("batch_")
                   and int(k.split("_")[1]) >= 128)
    per_batch = {}
    for bs in large:
        per_batch[f"bf16_beyond_fp32_gemm_limit_at_{bs}"] = at_least(
            get(bs, "aelab_bf16_share_of_fp32_gemm_limit"), 1.0)
        per_batch[f"bf16_test_mse_within_1pct_of_fp32_at_{bs}"] = bf16_mse_ok(bs)
    met = [bs for bs in large if per_batch[f"bf16_beyond_fp32_gemm_limit_at_{bs}"]
           and per_batch[f"bf16_test_mse_within_1pct_of_fp32_at_{bs}"]]
    return {**per_batch,
        "bf16_beyond_fp32_gemm_limit_with_mse_within_1pct_at_128_or_larger":
            (bool(met) if large else None),
        "fp32_over_pythae_at_128_is_2.5x": at_least(get(128, "aelab_fp32_over_pythae"), 2.5),
        "fp32_over_pythae_at_32_is_3x": at_least(get(32, "aelab_fp32_over_pythae"), 3.0),
        "fp32_test_mse_within_1pct_of_pythae_at_128":
            within(get(128, "aelab_fp32_mse_over_pythae")),
        "fp32_test_mse_within_1pct_of_pythae_at_32":
            within(get(32, "aelab_fp32_mse_over_pythae")),
        "fp32_share_of_gemm_limit_at_128_is_75pct":
            at_least(get(128, "aelab_fp32_share_of_fp32_gemm_limit"), 0.75),
    }


def flat_gemm(r: dict) -> dict:
    return {"batch_size": r["batch_size"], "precision": r["precision"], "repeat": r["repeat"],
            **{f"{k}_{field}": v for k in ("step", "all") for field, v in r[k].items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--limit", type=int, default=None, help="training images (default: all)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 32])
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"],
                   help="aelab's train.precision rows")
    p.add_argument("--threads", type=int, default=None,
                   help="OMP_NUM_THREADS for every process (default: torch's own choice)")
    p.add_argument("--gemm-seconds", type=float, default=2.0, help="timing of each GEMM limit")
    p.add_argument("--quick", action="store_true",
                   help="1 epoch on 2000 images, 1 repeat, output to a temporary file")
    p.add_argument("--pythae-python", type=Path, default=PYTHAE_PYTHON)
    p.add_argument("--out", type=Path, default=None,
                   help="default: benchmarks/results/peers.json (--quick: a temporary file)")
    p.add_argument("--gemm-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--precision", help=argparse.SUPPRESS)
    argv = sys.argv[1:]
    args = p.parse_args(argv)
    if args.gemm_worker:
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.precision]
        print(json.dumps(gemm_rate(args.batch_size, dtype, args.gemm_seconds)))
        return
    if args.quick:
        given = {a.split("=")[0] for a in argv}
        args.epochs = args.epochs if "--epochs" in given else 1
        args.limit = args.limit or 2000
        args.repeats = args.repeats if "--repeats" in given else 1
        args.gemm_seconds = args.gemm_seconds if "--gemm-seconds" in given else 0.5
    out = args.out or (Path(tempfile.gettempdir()) / "aelab_peers_quick.json" if args.quick
                       else Path("benchmarks/results/peers.json"))
    if not args.pythae_python.is_file():
        sys.exit(f"error: pythae's environment {args.pythae_python} does not exist; "
                 "run: bash benchmarks/peers/setup_pythae.sh")
    if not os.environ.get("AELAB_DATA"):
        print("warning: AELAB_DATA is not set: MNIST comes from the user cache or is downloaded",
              file=sys.stderr)
    env = os.environ | ({"OMP_NUM_THREADS": str(args.threads)} if args.threads else {})

    records, gemms, pythae_env = [], [], {}
    with tempfile.TemporaryDirectory(prefix="aelab-peers-") as tmp:
        work = Path(tmp)
        for repeat in range(args.repeats):
            seed = repeat
            data = work / f"mnist-s{seed}.npz"
            write_data(data, seed, args.limit)
            for bs in args.batch_sizes:
                rec = run_pythae(args, work, data, bs, seed, env)
                pythae_env = {"versions": rec.pop("versions"),
                              "python": str(args.pythae_python)}
                runs = [rec] + [run_aelab(args, work, bs, seed, prec, env)
                                for prec in args.precisions]
                for r in runs:
                    records.append({**r, "repeat": repeat})
                    print(json.dumps(records[-1]), flush=True)
                for prec in ("fp32", "bf16"):
                    g = run_gemm(bs, prec, args.gemm_seconds, env)
                    gemms.append(flat_gemm({**g, "repeat": repeat}))
                    print(json.dumps(gemms[-1]), flush=True)
    summary = summarize(records, gemms, args.batch_sizes)
    prov = provenance(command_line([sys.executable, *sys.argv]))
    prov["versions"]["pythae"] = pythae_env.get("versions", {}).get("pythae")
    result = {
        "benchmark": "peers",
        "setup": {"model": "784-512-16-512-784 MLP autoencoder (ReLU; sigmoid output), "
                           "pythae's default AE for MNIST; aelab: dense, hidden [512], latent 16",
                  "data": "MNIST train" + (f" ({args.limit} images)" if args.limit else "")
                          + ", no validation split; test: the 10,000 MNIST test images",
                  "optimizer": "Adam, lr 1e-3", "epochs": args.epochs,
                  "batch_sizes": args.batch_sizes, "repeats": args.repeats,
                  "threads": args.threads,
                  "images_per_second": "training passes only, summed over the epochs",
                  "process_seconds": "the whole process: start-up, data, training, "
                                     "evaluation (aelab train: also its figures and report)",
                  "gemm_limit": "torch.mm of the model's GEMM shapes at the batch size; "
                                "'step': the 11 GEMMs of a training step (the first layer's "
                                "input gradient is not computed), 'all': 3 per layer"},
        **prov,
        "pythae_env": pythae_env,
        "summary": summary,
        "records": records,
        "gemm_records": gemms,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, s in summary.items():
        print(name, json.dumps({k: round(v, 5) if isinstance(v, float) else v
                                for k, v in s.items()}))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
