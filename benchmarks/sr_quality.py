"""Score ESPCN runs trained on T91 (x2, x3, x4) against bicubic and Lanczos on Set5 and Set14
(PSNR/SSIM on Y, border r cropped); writes benchmarks/results/sr.json.

Train first, one job per scale under the CPU lock (a job that hits --max-minutes is
continued by the same command with --resume; train_seconds sums the jobs):

    AELAB_DATA=../shared/datasets .venv/bin/aelab sr-train --scale 3 --out runs/sr/espcn_x3 \\
        --set steps=80000 --set batch_size=64 --set channels_last=true --set eval_every=2500 \\
        [--max-minutes M]          # x2 and x4 here: steps=25000

then score (seconds):

    AELAB_DATA=../shared/datasets .venv/bin/python benchmarks/sr_quality.py [--scales 2 3 4]

Set5/Set14 are only scored here, never trained or tuned on: checkpoints are picked on six
held-out T91 images. Scales without a finished run get the interpolation rows only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import aelab  # noqa: F401  (CPU set-up)
from aelab.provenance import machine, versions
from aelab.sr.datasets import load_set
from aelab.sr.evaluate import score_set
from aelab.sr.train import load_sr_run

RESULTS = Path(__file__).parent / "results"
# Shi et al. 2016 as quoted in issue 7. Set5 x3 32.55 is the T91-trained model; the Set14
# x3 and the x4 numbers are those of the paper's ImageNet-trained models.
PAPER = {("Set5", 3, "bicubic"): 30.39, ("Set14", 3, "bicubic"): 27.54,
         ("Set5", 3, "espcn"): 32.55, ("Set14", 3, "espcn"): 29.49,
         ("Set5", 4, "espcn"): 30.90, ("Set14", 4, "espcn"): 27.73}
PAPER_NOTE = ("paper_psnr_y_db: Shi et al. 2016 as quoted in issue 7; Set5 x3 ESPCN 32.55 is "
              "trained on T91, Set14 x3 29.49 and the x4 values are the ImageNet-trained "
              "models (the issue quotes no x2 values)")


def finished_run(run: Path) -> dict | None:
    """metrics.json of a finished run folder, else None."""
    path = run / "metrics.json"
    if not path.is_file():
        return None
    meta = json.loads(path.read_text())
    return meta if meta.get("steps_done", meta.get("steps")) == meta.get("steps") else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--runs", default="runs/sr", help="folder holding espcn_x{r} runs")
    parser.add_argument("--out", default=str(RESULTS / "sr.json"))
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"),
                        help="the ESPCN forward pass (bf16: see benchmarks/sr_throughput.py)")
    args = parser.parse_args(argv)
    tests = {name: load_set(name) for name in ("Set5", "Set14")}
    records, per_image, training = [], [], {}
    for scale in args.scales:
        run = Path(args.runs) / f"espcn_x{scale}"
        meta = finished_run(run)
        model = cfg = None
        if meta is not None:
            cfg, model = load_sr_run(run)
            env = json.loads((run / "env.json").read_text())
            training[f"x{scale}"] = {
                "run": str(run), "commands": env.get("commands", [env.get("command")]),
                "config": json.loads((run / "config.json").read_text()),
                "jobs": meta["jobs"], "train_seconds": meta["train_seconds"],
                "best_val_psnr_y_db": meta["best_val_psnr_y_db"],
                "val_images": meta["val_images"], "threads": env.get("threads")}
        else:
            print(f"x{scale}: no finished run in {run}; interpolation only", flush=True)
        for name, images in tests.items():
            rows, means = score_set(images, scale, model, precision=args.precision)
            for m in means:
                trained = m["method"] == "espcn"
                records.append({
                    "set": name, "scale": scale, "method": m["method"],
                    "psnr_y_db": m["psnr_y_db"], "ssim_y": m["ssim_y"],
                    "n_images": m["n_images"],
                    "precision": args.precision if trained else None,
                    "train_seconds": meta["train_seconds"] if trained else None,
                    "train_steps": cfg.steps if trained else None,
                    "best_val_psnr_y_db": meta["best_val_psnr_y_db"] if trained else None,
                    "paper_psnr_y_db": PAPER.get((name, scale, m["method"]))})
            per_image += [{"set": name, "scale": scale, **r} for r in rows]
            print(f"x{scale} {name}: " + ", ".join(f"{m['method']} {m['psnr_y_db']:.2f} dB "
                                                  f"/ {m['ssim_y']:.4f}" for m in means),
                  flush=True)
    result = {
        "benchmark": "sr_quality",
        "command": "AELAB_DATA=../shared/datasets .venv/bin/python benchmarks/sr_quality.py "
                   + " ".join(sys.argv[1:]) + "  (after the training commands in `training`)",
        "protocol": "HR modcropped to r; Y of YCbCr (BT.601 studio range, float; a grey image "
                    "is its own luminance, as in SRCNN's code); LR = antialiased bicubic "
                    "shrink of Y (Pillow, float); PSNR/SSIM on Y in [0,255], r-pixel border "
                    "cropped, estimate clipped not rounded; SSIM Gaussian sigma 1.5. ESPCN "
                    "5-3-3 (64, 32), tanh, trained on 85 T91 images (6 held out to pick the "
                    "checkpoint); Set5/Set14 never used for training or selection.",
        "paper_note": PAPER_NOTE,
        "machine": machine(), "versions": versions(),
        "training": training,
        "records": records,
        "per_image": per_image,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
