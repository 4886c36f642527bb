"""ESPCN x3 speed and memory on this CPU: frames per second for a 1920x1080 output, tiled and
untiled, and the peak memory of upscaling to an 8000x8000 output (tiled); writes
benchmarks/results/sr_throughput.json.

    flock /tmp/aelab-cpu.lock .venv/bin/python benchmarks/sr_throughput.py [--run RUN_DIR]

Speed does not depend on the weights, so without --run a freshly initialised ESPCN (5-3-3,
64/32 channels) is timed. Each memory case runs in its own process, and its peak resident
set size (ru_maxrss: Python, torch and all arrays included) is what is reported.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from aelab.provenance import machine, versions

RESULTS = Path(__file__).parent / "results"


def _model(run: str | None):
    from aelab.models.espcn import create_upscaler
    from aelab.sr.train import load_sr_run

    if run:
        return load_sr_run(run)[1]
    from aelab.train import seeded

    with seeded(0):
        return create_upscaler("espcn", scale=3).eval()


def time_frames(model, *, tile, overlap, frames: int, rgb: bool) -> dict:
    from aelab.sr.images import upscale_image, upscale_planes

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (360, 640, 3) if rgb else (360, 640), dtype=np.uint8)
    planes = image[None].astype(np.float32) if not rgb else None
    times = []
    for _ in range(frames + 1):                       # the first is a warm-up
        t0 = time.perf_counter()
        if rgb:
            upscale_image(model, image, tile=tile, overlap=overlap)
        else:
            upscale_planes(model, planes, tile=tile, overlap=overlap)
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times[1:])
    return {"case": "1080p_x3", "input": "640x360", "output": "1920x1080",
            "what": "RGB image (Y by ESPCN, CbCr bicubic)" if rgb else "Y plane only",
            "tiled": tile is not None, "tile": tile, "overlap": overlap if tile else None,
            "frames": frames, "seconds_per_frame": sec, "fps": 1.0 / sec}


def peak_memory_child(run: str | None, side: int, tile: int, overlap: int) -> dict:
    from aelab.sr.images import upscale_image

    model = _model(run)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    t0 = time.perf_counter()
    out = upscale_image(model, image, tile=tile, overlap=overlap, batch_size=8)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # KiB on Linux
    return {"case": "large_x3", "input": f"{side}x{side}", "output": f"{out.shape[1]}x"
            f"{out.shape[0]}", "what": "RGB image (Y by ESPCN, CbCr bicubic)", "tiled": True,
            "tile": tile, "overlap": overlap, "seconds": seconds,
            "peak_rss_gb": peak / 1e9, "output_gb": out.nbytes / 1e9}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a trained x3 run folder (optional)")
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--side", type=int, default=2667, help="input side of the large case "
                        "(2667 -> 8001x8001 at x3)")
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--overlap", type=int, default=16)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(RESULTS / "sr_throughput.json"))
    args = parser.parse_args(argv)
    import aelab  # noqa: F401  (CPU set-up)

    if args.child:
        print(json.dumps(peak_memory_child(args.run, args.side, args.tile, args.overlap)))
        return 0
    model = _model(args.run)
    records = []
    for rgb in (False, True):
        for tile in (None, args.tile):
            rec = time_frames(model, tile=tile, overlap=args.overlap, frames=args.frames,
                              rgb=rgb)
            records.append(rec)
            print(rec, flush=True)
    cmd = [sys.executable, __file__, "--child", "--side", str(args.side), "--tile",
           str(args.tile), "--overlap", str(args.overlap)] + (["--run", args.run] if args.run
                                                              else [])
    child = subprocess.run(cmd, capture_output=True, text=True, check=True)
    records.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(records[-1])
    result = {
        "benchmark": "sr_throughput",
        "command": "flock /tmp/aelab-cpu.lock .venv/bin/python benchmarks/sr_throughput.py "
                   + " ".join(sys.argv[1:]),
        "model": args.run or "ESPCN x3 5-3-3 (64, 32), fresh weights (speed only)",
        "machine": machine(), "versions": versions(),
        "records": records,
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
