"""Peak memory and time of ``aelab restore`` on one large image (issue 3: under 1 GB).

Builds a SIZE x SIZE test image in a temporary folder (never in the repository): Set14's
greyscale ``bridge.png`` from the dataset mirror upscaled bicubically, or a synthetic pattern
when the mirror is absent, with gaussian noise (factor 0.5, clipped) added, then runs the
real command in a child process,

    aelab restore RUN_DIR noisy.png --out TMP

under ``/usr/bin/time -f %M``, which prints the child's peak resident set size (what
``/usr/bin/time -v`` calls "Maximum resident set size"), once per image size: a small and a
large image show that memory does not grow with the image. Run it under the CPU lock with a
trained denoising run, e.g. one from the restoration study:

    flock /tmp/aelab-cpu.lock .venv/bin/python benchmarks/restore_memory.py \
        studies/restoration_mnist/runs/gaussian-0.5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from aelab.provenance import machine, versions

MIRROR = Path(os.environ.get("AELAB_DATA", "../shared/datasets"))
LIMIT_MB = 1024


def test_image(size: int, channels: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """(size, size[, 3]) uint8 noisy image and a note on where it came from."""
    src = MIRROR / "sr-benchmarks" / "Set14" / ("bridge.png" if channels == 1 else "lenna.png")
    mode = "L" if channels == 1 else "RGB"
    if src.is_file():
        with Image.open(src) as im:
            clean = np.asarray(im.convert(mode).resize((size, size), Image.Resampling.BICUBIC))
        origin = f"Set14/{src.name} upscaled (bicubic) to {size}x{size}"
    else:
        yy, xx = np.mgrid[0:size, 0:size] / size
        clean = (127.5 + 127.5 * np.sin(40 * xx) * np.cos(25 * yy)).astype(np.uint8)
        clean = clean if channels == 1 else np.repeat(clean[..., None], 3, axis=2)
        origin = f"synthetic sine pattern {size}x{size} (mirror not found)"
    rng = np.random.default_rng(seed)
    noisy = np.clip(clean / 255.0 + 0.5 * rng.standard_normal(clean.shape), 0, 1)
    return (noisy * 255).round().astype(np.uint8), origin + ", gaussian noise factor 0.5"


def measure(run_dir: Path, size: int, batch_size: int) -> dict:
    from aelab.runs import load_run

    _, model = load_run(run_dir)
    channels = model.input_shape[0]
    image, origin = test_image(size, channels)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "noisy.png"
        Image.fromarray(image).save(path)
        cmd = ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "aelab.cli", "restore",
               str(run_dir), str(path), "--out", str(Path(tmp) / "out"),
               "--batch-size", str(batch_size)]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        seconds = time.perf_counter() - t0
        peak_kb = int(done.stderr.strip().splitlines()[-1])        # %M: max RSS in KiB
        with Image.open(Path(tmp) / "out" / "noisy-restored.png") as out:
            out_size = out.size
    assert out_size == (size, size), out_size
    return {"image": f"{size}x{size}", "channels": channels, "source": origin,
            "run": str(run_dir), "tile": list(model.input_shape[1:]), "batch_size": batch_size,
            "peak_rss_mb": round(peak_kb / 1024, 1), "seconds": round(seconds, 2),
            "under_1_gb": peak_kb / 1024 < LIMIT_MB}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir", type=Path, help="a trained denoising run folder")
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    ap.add_argument("--batch-size", type=int, default=64, help="tiles restored at once")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/restore_memory.json"))
    args = ap.parse_args()
    records = [measure(args.run_dir, size, args.batch_size) for size in args.sizes]

    result = {
        "command": "flock /tmp/aelab-cpu.lock .venv/bin/python benchmarks/restore_memory.py "
                   + " ".join(sys.argv[1:]),
        "measures": "peak resident set size of the whole `aelab restore` process (Python, "
                    "torch and the image), from /usr/bin/time -f %M",
        "limit_mb": LIMIT_MB,
        "machine": machine(), "versions": versions(),
        "records": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for record in records:
        print(json.dumps(record))


if __name__ == "__main__":
    main()
