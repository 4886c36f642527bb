"""ESPCN x3 speed and bf16 quality on this machine; writes benchmarks/results/sr_throughput.json.

One run measures, side by side:
- frames per second for a 1920x1080 output (640x360 input) through `upscale_image`, the path of
  `aelab upscale` (RGB in, RGB out: Y by ESPCN, CbCr bicubic), and through `upscale_planes`
  (the Y plane alone); fp32 and bf16, tiled and untiled. Every configuration is timed once per
  round, the rounds interleaved, and the median over rounds (each the median of its frames)
  is reported, so a slow moment of the machine hits all configurations alike;
- Set5 x3 PSNR/SSIM on Y with fp32 and with bf16 (the protocol of benchmarks/sr_quality.py);
- the peak memory of upscaling to an 8001x8001 output (tiled), each precision in its own
  process (ru_maxrss: Python, torch and all arrays included).

    flock /tmp/aelab-cpu.lock env AELAB_DATA=../shared/datasets \\
        .venv/bin/python benchmarks/sr_throughput.py [--run runs/sr/espcn_x3]

Speed does not depend on the weights, PSNR does: with --run, that trained x3 run is used;
without it, an ESPCN is first trained here on T91 for --train-steps steps (a few minutes; its
PSNR is below a full run's, and the result file says so). ``--quick`` checks the script in
seconds (2 frames, 1 round, 50 training steps, no large case) and writes nothing unless --out
is given.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
RGB = "RGB image (Y by ESPCN, CbCr bicubic)"
Y_ONLY = "Y plane only"
PRECISIONS = ("fp32", "bf16")


def fresh_model():
    from aelab.models.espcn import create_upscaler
    from aelab.train import seeded

    with seeded(0):
        return create_upscaler("espcn", scale=3).eval()


def trained_model(run: str | None, steps: int) -> tuple[object, str]:
    """The x3 model to score, and how it was made."""
    from aelab.sr.train import SRConfig, load_sr_run, train_espcn

    if run:
        return load_sr_run(run)[1], run
    cfg = SRConfig(scale=3, steps=steps, eval_every=steps, val_images=6, channels_last=True,
                   lr=3e-3)
    with tempfile.TemporaryDirectory() as tmp:
        model = load_sr_run(train_espcn(cfg, Path(tmp) / "espcn_x3"))[1]
    return model, (f"ESPCN x3 5-3-3 (64, 32) trained by this script on T91 for {steps} steps "
                   "at batch 32, lr 3e-3 (a quick model: its PSNR is below a full run's)")


def frame_timer(model, case: dict, device):
    """A function timing `frames` frames of one configuration; returns seconds per frame."""
    from aelab.sr.images import upscale_image, upscale_planes

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    planes = image[None, :, :, 0].astype(np.float32)
    kw = {"tile": case["tile"], "overlap": case["overlap"] or 16,
          "batch_size": case["batch_size"] or 1, "device": device,
          "precision": case["precision"]}

    def one():
        if case["what"] == RGB:
            upscale_image(model, image, **kw)
        else:
            upscale_planes(model, planes, **kw)

    def timed(frames: int) -> float:
        times = []
        for _ in range(frames):
            t0 = time.perf_counter()
            one()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    return timed


def speed_records(model, *, tile: int, overlap: int, batch_size: int, frames: int,
                  rounds: int, device) -> list[dict]:
    cases = [{"case": "1080p_x3", "input": "640x360", "output": "1920x1080", "what": what,
              "precision": p, "device": str(device), "tiled": t is not None, "tile": t,
              "overlap": overlap if t else None, "batch_size": batch_size if t else None}
             for what in (RGB, Y_ONLY) for p in PRECISIONS for t in (None, tile)]
    timers = [frame_timer(model, c, device) for c in cases]
    for timer in timers:                                  # warm-up: one frame each
        timer(1)
    per_round: list[list[float]] = [[] for _ in cases]
    for r in range(rounds):
        for k, timer in enumerate(timers):
            per_round[k].append(timer(frames))
        print(f"round {r + 1}/{rounds}: " + ", ".join(
            f"{c['precision']}{' tiled' if c['tiled'] else ''} {c['what'][:3]} "
            f"{1 / s[-1]:.1f}" for c, s in zip(cases, per_round, strict=True)), flush=True)
    records = []
    for c, secs in zip(cases, per_round, strict=True):
        sec = statistics.median(secs)
        records.append({**c, "frames": frames, "rounds": rounds, "seconds_per_frame": sec,
                        "fps": 1.0 / sec, "fps_rounds": [1.0 / s for s in secs]})
    untiled = {(r["what"], r["precision"]): r["fps"] for r in records if not r["tiled"]}
    for r in records:
        if r["tiled"]:
            r["tiled_over_untiled"] = r["fps"] / untiled[(r["what"], r["precision"])]
    return records


def psnr_records(model, model_name: str, device) -> list[dict]:
    from aelab.sr.datasets import load_set
    from aelab.sr.evaluate import score_set

    images = load_set("Set5")
    records = []
    for p in PRECISIONS:
        t0 = time.perf_counter()
        per_image, means = score_set(images, 3, model, methods=(), device=device, precision=p)
        m = means[0]
        records.append({"case": "Set5_x3_quality", "set": "Set5", "scale": 3,
                        "method": "espcn", "precision": p, "device": str(device),
                        "psnr_y_db": m["psnr_y_db"], "ssim_y": m["ssim_y"],
                        "n_images": m["n_images"], "seconds": time.perf_counter() - t0,
                        "per_image_psnr_y_db": {r["image"]: r["psnr_y_db"] for r in per_image},
                        "model": model_name})
    ref = records[0]["psnr_y_db"]
    for r in records:
        r["psnr_minus_fp32_db"] = r["psnr_y_db"] - ref
    return records


def peak_memory_child(side: int, tile: int, overlap: int, batch_size: int, precision: str,
                      device) -> dict:
    from aelab.sr.images import upscale_image

    model = fresh_model()
    image = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    t0 = time.perf_counter()
    out = upscale_image(model, image, tile=tile, overlap=overlap, batch_size=batch_size,
                        device=device, precision=precision)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # KiB on Linux
    return {"case": "large_x3", "input": f"{side}x{side}", "output": f"{out.shape[1]}x"
            f"{out.shape[0]}", "what": RGB, "precision": precision, "device": str(device),
            "tiled": True, "tile": tile, "overlap": overlap, "batch_size": batch_size,
            "seconds": seconds, "peak_rss_gb": peak / 1e9, "output_gb": out.nbytes / 1e9}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a trained x3 run folder (for the PSNR)")
    parser.add_argument("--train-steps", type=int, default=3000,
                        help="without --run: steps of the quick model trained for the PSNR")
    parser.add_argument("--frames", type=int, default=5, help="frames per configuration and "
                        "round (their median is the round's time)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--side", type=int, default=2667, help="input side of the large case "
                        "(2667 -> 8001x8001 at x3; 0 skips it)")
    parser.add_argument("--tile", type=int, default=192, help="as `aelab upscale --tile`")
    parser.add_argument("--overlap", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    parser.add_argument("--quick", action="store_true",
                        help="2 frames, 1 round, 50 training steps, no large case; writes "
                             "nothing unless --out is given")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)   # a precision
    parser.add_argument("--out", default=None,
                        help="result file (default benchmarks/results/sr_throughput.json)")
    args = parser.parse_args(argv)
    import torch

    from aelab import _cpu
    from aelab.provenance import command_line, provenance

    _cpu.configure()
    device = torch.device(args.device)
    if args.child:
        print(json.dumps(peak_memory_child(args.side, args.tile, args.overlap, args.batch_size,
                                           args.child, device)))
        return 0
    if args.quick:
        args.frames, args.rounds, args.train_steps, args.side = 2, 1, 50, 0
    records = speed_records(fresh_model(), tile=args.tile, overlap=args.overlap,
                            batch_size=args.batch_size, frames=args.frames,
                            rounds=args.rounds, device=device)
    model, model_name = trained_model(args.run, args.train_steps)
    records += psnr_records(model, model_name, device)
    print(", ".join(f"Set5 {r['precision']} {r['psnr_y_db']:.3f} dB" for r in records[-2:]),
          flush=True)
    for precision in PRECISIONS if args.side else ():
        cmd = [sys.executable, __file__, "--child", precision, "--side", str(args.side),
               "--tile", str(args.tile), "--overlap", str(args.overlap), "--batch-size",
               str(args.batch_size), "--device", args.device]
        child = subprocess.run(cmd, capture_output=True, text=True, check=True)
        records.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(records[-1], flush=True)
    result = {"benchmark": "sr_throughput", **provenance(command_line([sys.executable, *sys.argv])),
              "model": "ESPCN x3 5-3-3 (64, 32), fresh weights (speed only)",
              "quality_model": model_name,
              "records": records}
    out = args.out or (None if args.quick else str(RESULTS / "sr_throughput.json"))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
