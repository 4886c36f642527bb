"""Train ESPCN on T91 at x2, x3 and x4 and score it against bicubic and Lanczos on Set5 and
Set14 (PSNR/SSIM on Y, border r cropped); writes benchmarks/results/sr.json.

    AELAB_DATA=../shared/datasets flock /tmp/aelab-cpu.lock \
        .venv/bin/python benchmarks/sr_quality.py [--steps 15000] [--scales 2 3 4]

Set5/Set14 are only scored here, never trained or tuned on: checkpoints are picked on six
held-out T91 images.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch

import aelab  # noqa: F401  (CPU set-up)
from aelab.sr.datasets import load_set
from aelab.sr.evaluate import score_set
from aelab.sr.train import SRConfig, load_sr_run, train_espcn

RESULTS = Path(__file__).parent / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--steps", type=int, default=15000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--runs", default="runs/sr", help="where the run folders go")
    parser.add_argument("--out", default=str(RESULTS / "sr.json"))
    args = parser.parse_args(argv)
    tests = {name: load_set(name) for name in ("Set5", "Set14")}
    records, per_image = [], []
    for scale in args.scales:
        cfg = SRConfig(scale=scale, steps=args.steps, batch_size=args.batch_size)
        run = train_espcn(cfg, Path(args.runs) / f"espcn_x{scale}",
                          command=" ".join(["python", *sys.argv]))
        meta = json.loads((run / "metrics.json").read_text())
        _, model = load_sr_run(run)
        for name, images in tests.items():
            rows, means = score_set(images, scale, model)
            for m in means:
                trained = m["method"] == "espcn"
                records.append({"set": name, **m,
                                "train_seconds": meta["train_seconds"] if trained else None,
                                "train_steps": cfg.steps if trained else None,
                                "batch_size": cfg.batch_size if trained else None,
                                "patch_lr": cfg.patch if trained else None,
                                "best_val_psnr_y_db": meta["best_val_psnr_y_db"] if trained
                                else None})
            per_image += [{"set": name, "scale": scale, **r} for r in rows]
            print(f"x{scale} {name}: " + ", ".join(f"{m['method']} {m['psnr_y_db']:.2f} dB "
                                                  f"/ {m['ssim_y']:.4f}" for m in means),
                  flush=True)
    result = {
        "benchmark": "sr_quality",
        "command": "AELAB_DATA=../shared/datasets flock /tmp/aelab-cpu.lock .venv/bin/python "
                   "benchmarks/sr_quality.py " + " ".join(sys.argv[1:]),
        "protocol": "HR modcropped to r; Y of YCbCr (BT.601 studio range, float); LR = "
                    "antialiased bicubic shrink of Y (Pillow, float); PSNR/SSIM on Y in "
                    "[0,255], r-pixel border cropped, estimate clipped not rounded; SSIM "
                    "Gaussian sigma 1.5. ESPCN 5-3-3 (64, 32), tanh, trained on 85 T91 "
                    "images (6 held out to pick the checkpoint), random 24x24 LR crops "
                    "with flips/rotations, Adam cosine lr 1e-3 -> 1e-5, last layer 10x "
                    "smaller; Set5/Set14 never used for training or selection.",
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "torch_threads": torch.get_num_threads()},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__},
        "paper": {"Set5_x3_espcn_T91": 32.55, "Set5_x3_bicubic": 30.39,
                  "Set14_x3_espcn": 29.49, "Set14_x3_bicubic": 27.54,
                  "Set5_x4_espcn": 30.90, "Set14_x4_espcn": 27.73},
        "records": records,
        "per_image": per_image,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
