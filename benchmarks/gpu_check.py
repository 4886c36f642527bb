"""The GPU check: every model family trained on CUDA, the apply commands on CUDA, ESPCN 1080p x3
frames/s in fp32 and bf16, and two quick studies, through aelab's own commands; writes
``benchmarks/results/gpu_check.json``. Run by ``benchmarks/gpu_check.sh`` (which then runs the
test suite with the GPU visible); see there for how to run it on a lent GPU machine.

On a machine without CUDA, ``--device cpu --quick`` runs the same steps on the CPU, small, to
check the script itself (its file is then written to --out, never to the results folder).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS: list[dict] = []       # one record per step: what ran, on what, how long, its numbers


@contextlib.contextmanager
def step(name: str, **fields):
    """Record a step: ``with step("train dense") as rec: ... rec["x"] = 1``. A failed step is
    recorded with its error and does not stop the check."""
    rec = {"step": name, **fields}
    print(f"== {name}", flush=True)
    t0 = time.perf_counter()
    try:
        yield rec
        rec["ok"] = True
    except Exception as error:
        rec["ok"], rec["error"] = False, f"{type(error).__name__}: {error}"
        print(f"   FAILED: {rec['error']}", flush=True)
    finally:
        rec["seconds"] = round(time.perf_counter() - t0, 2)
        STEPS.append(rec)


def cli(*argv: str) -> None:
    from aelab.cli import main

    rc = main([str(a) for a in argv])
    if rc != 0:
        raise RuntimeError(f"`aelab {' '.join(map(str, argv))}` exited with {rc}")


def _metrics(run: Path) -> dict:
    m = json.loads((run / "metrics.json").read_text())
    env = json.loads((run / "env.json").read_text())
    return {"device": env["device"], "precision": env["precision"],
            "test_mse": round(m["test_mse"], 6), "epochs": m["epochs"],
            "train_images_per_second": round(m["train_images_per_second"], 1)}


def train_models(work: Path, device: str, dataset: str, quick: bool) -> None:
    epochs = "1" if quick else "3"
    limit = ["--set", "data.limit=500", "--set", "data.test_limit=200"] if quick else []
    models = {"dense": ROOT / "configs" / "mnist_dense.toml",
              "conv": ROOT / "configs" / "mnist_conv.toml",
              "vae": ROOT / "configs" / "mnist_vae.toml"}
    for name, config in models.items():
        for precision in ("fp32", "bf16"):
            with step(f"train {name}", model=name, dataset=dataset) as rec:
                run = work / f"{name}-{precision}"
                cli("train", config, "--out", run, "--overwrite", "--set", f"data.name={dataset}",
                    "--set", f"train.epochs={epochs}", "--set", f"train.device={device}",
                    "--set", f"train.precision={precision}", *limit)
                rec |= _metrics(run)


def apply_commands(work: Path, device: str, dataset: str, quick: bool) -> None:
    """evaluate, reconstruct, generate on the conv run; restore with a denoiser; upscale."""
    import numpy as np
    from PIL import Image

    conv = work / "conv-fp32"
    images = work / "images"
    images.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (60, 90), dtype=np.uint8)).save(images / "grey.png")
    for precision in ("fp32", "bf16"):
        with step("evaluate", device=device, precision=precision):
            cli("evaluate", conv, "--device", device, "--precision", precision)
        with step("reconstruct", device=device, precision=precision):
            cli("reconstruct", conv, images / "grey.png", "--out", work / f"rec-{precision}",
                "--device", device, "--precision", precision)
        with step("generate", device=device, precision=precision):
            cli("generate", work / "vae-fp32", "--n", "16", "--out", work / f"gen-{precision}",
                "--device", device, "--precision", precision)
    with step("train denoiser", device=device) as rec:
        run = work / "denoiser"
        cli("train", ROOT / "configs" / "mnist_denoise.toml", "--out", run, "--overwrite",
            "--set", f"data.name={dataset}", "--set", f"train.device={device}",
            "--set", f"train.epochs={1 if quick else 3}",
            *(["--set", "data.limit=500", "--set", "data.test_limit=200"] if quick else []))
        rec |= _metrics(run)
    with step("restore", device=device):
        cli("restore", work / "denoiser", images / "grey.png", "--out", work / "restored",
            "--device", device)


def espcn(work: Path, device: str, quick: bool) -> None:
    """Train an ESPCN for a few steps on CUDA, upscale with it, and time 1080p x3."""
    import numpy as np
    from PIL import Image

    photos = work / "photos"
    photos.mkdir(exist_ok=True)
    from sklearn.datasets import load_sample_images  # two photos bundled with sklearn

    for i, im in enumerate(load_sample_images().images):
        Image.fromarray(im).save(photos / f"photo{i}.png")
    run = work / "espcn"
    with step("sr-train", device=device) as rec:
        steps = 50 if quick else 500
        cli("sr-train", "--data", photos, "--out", run, "--overwrite", "--test-sets", "none",
            "--set", f"steps={steps}", "--set", f"eval_every={steps}",
            "--set", f"device={device}")
        rec["steps"] = steps
    with step("upscale", device=device):
        cli("upscale", run, photos / "photo0.png", "--out", work / "upscaled",
            "--device", device)
    import torch

    from aelab.precision import resolve_precision
    from aelab.sr.images import upscale_image
    from aelab.sr.train import load_sr_run

    _, model = load_sr_run(run)
    dev = torch.device(device)
    model = model.to(dev)
    frame = np.asarray(Image.fromarray(load_sample_images().images[0]).resize((640, 360)))
    side = (120, 160) if quick else (360, 640)            # 1080p output at x3
    frame = frame[: side[0], : side[1]]
    for precision in ("fp32", "bf16"):
        for tile in (None, 128):
            with step("espcn 1080p x3", device=device, precision=precision,
                      tiled=tile is not None, input=f"{side[1]}x{side[0]}") as rec:
                kwargs = {"tile": tile, "device": dev,
                          "precision": resolve_precision(precision, dev, model)}
                for _ in range(3):
                    upscale_image(model, frame, **kwargs)
                times = []
                for _ in range(5 if quick else 20):
                    t0 = time.perf_counter()
                    upscale_image(model, frame, **kwargs)   # a numpy image: the GPU is done
                    times.append(time.perf_counter() - t0)
                rec["frames_per_second"] = round(1.0 / statistics.median(times), 2)


def studies(work: Path, device: str) -> None:
    for name in ("quickstart", "hidden-sizes"):
        with step(f"study {name} --quick", device=device) as rec:
            cli("study", name, "--quick", "--out", work / name, "--set", f"train.device={device}")
            rec["report"] = (work / name / "report.html").is_file()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu (to test the script)")
    p.add_argument("--quick", action="store_true", help="small sizes, to test the script")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu_check.json")
    args = p.parse_args()
    import torch

    from aelab.provenance import command_line, provenance

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: no CUDA device is visible (torch.cuda.is_available() is False); "
              "run on a GPU machine, or pass --device cpu --quick to test the script.",
              file=sys.stderr)
        return 2
    dataset = "mnist" if os.environ.get("AELAB_DATA") else "digits"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ.setdefault("AELAB_CACHE", str(work / "cache"))
        train_models(work, args.device, dataset, args.quick)
        apply_commands(work, args.device, dataset, args.quick)
        espcn(work, args.device, args.quick)
        studies(work, args.device)
    result = {"benchmark": "gpu_check", "device": args.device, "quick": args.quick,
              "dataset": dataset, "seconds": round(time.perf_counter() - t0, 1),
              "failed": [r["step"] for r in STEPS if not r["ok"]], "records": STEPS,
              **provenance(command_line(["python", "benchmarks/gpu_check.py", *sys.argv[1:]]))}
    if torch.cuda.is_available():
        result["cuda"] = {"device": torch.cuda.get_device_name(0),
                          "capability": list(torch.cuda.get_device_capability(0)),
                          "torch_cuda": torch.version.cuda}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(STEPS) - len(result['failed'])}/{len(STEPS)} steps ok in "
          f"{result['seconds']} s -> {args.out}")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
