"""Restoration study: how much does a denoising (or inpainting) autoencoder restore, per
noise level, compared with the classical denoisers a user would otherwise reach for?

For each corruption and level (gaussian noise at noise factors 0.3 to 0.9, clipped; ten black
stripes; a grey block, sized for 28x28 and scaled to the image) it

1. trains a convolutional autoencoder with that corruption on its inputs (clean targets), and
   one more across all gaussian levels (each image's factor drawn from [min, max]);
2. corrupts a fixed, seeded set of validation images and of test images;
3. tunes NLM, TV, a median filter and BM3D on the validation images only, each plain and with
   a bias correction (a monotone per-intensity map fitted on validation pixels);
4. scores every method on the same corrupted test images: PSNR (mean of per-image PSNRs, data
   range 1), SSIM and MSE against the clean images, and the error inside the hidden region
   for stripes and block.

It writes ``restoration_<dataset>.json`` (flat records, machine, versions, the exact command),
one run folder per autoencoder under ``runs/``, figures, and ``report.html``.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

from ..baselines import BASELINES, tune
from ..config import RunConfig
from ..corruptions import build, corrupt_array
from ..errors import ConfigError
from ..evaluate.restoration import hidden_region, scores
from ..report.figures import save_figure
from ..report.page import write_html_page
from ..restore import restoration_figure, restore_array
from ..runs import load_run, prepare_data, train_run
from . import STUDIES

LEVELLED = {"gaussian": "factor", "salt_pepper": "amount", "mask": "fraction"}
SINGLE = ("stripes", "block")
FULL = {"dataset": "mnist", "levels": [0.3, 0.5, 0.7, 0.9],
        "corruptions": ["gaussian", "stripes", "block"], "epochs": 5, "limit": 20000,
        "test_limit": 500, "val_images": 100, "batch_size": 64}
QUICK = {"dataset": "digits", "levels": [0.3, 0.7], "corruptions": ["gaussian", "block"],
         "epochs": 1, "limit": 300, "test_limit": 40, "val_images": 20, "batch_size": 32}
EXAMPLE_LEVELS = (0.5, 0.7, 0.9)


def model_for(shape: tuple[int, int, int]) -> dict:
    """A conv denoiser without a dense bottleneck (its code is a spatial map, as in the
    Keras denoising example): two stages for 28x28 and up, one narrower one for tiny images."""
    if min(shape[1:]) < 16:
        return {"name": "conv", "latent_dim": 16, "channels": [16, 16], "bottleneck": "none"}
    return {"name": "conv", "latent_dim": 32, "channels": [32, 64], "bottleneck": "none"}


def corruption_specs(name: str, levels: list[float], size: int) -> list[tuple[float, dict]]:
    """(level, corruption dict) pairs. Stripes and block have one level each, sized for 28x28
    images (10 stripes, a 10x10 block) and scaled with the image's height."""
    if name in LEVELLED:
        return [(lv, {"name": name, LEVELLED[name]: lv}) for lv in levels]
    k = max(1, round(size * 10 / 28))
    if name == "stripes":
        return [(k, {"name": "stripes", "n": k})]
    if name == "block":
        return [(k, {"name": "block", "size": k, "value": 0.5})]
    raise ConfigError(f"study restoration: corruption {name!r} is not supported. Use any of "
                      f"{', '.join([*LEVELLED, *SINGLE])}.")


@STUDIES.register("restoration")
def restoration(out_dir: Path, *, quick: bool = False, dataset: str | None = None,
                progress=None, callbacks=(), corruptions: list | None = None,
                levels: list | None = None, epochs: int | None = None,
                limit: int | None = None, test_limit: int | None = None,
                val_images: int | None = None, baselines: list | None = None,
                data_options: dict | None = None, lossy: bool = False) -> Path:
    """Run the study into `out_dir`; return its ``report.html``.

    Options (full / quick defaults): `corruptions` ([gaussian, stripes, block] / [gaussian,
    block]); `levels` of the gaussian noise factor ([0.3, 0.5, 0.7, 0.9] / [0.3, 0.7]);
    `epochs` (5 / 1); `limit` training images (20000 / 300; 60000 for the whole MNIST set);
    `test_limit` test images every method is scored on (500 / 40); `val_images` validation
    images the baselines are tuned on (100 / 20); `baselines` (all registered); `data_options`
    (e.g. ``{path=..., size=32, mode="RGB"}`` for image_folder); `lossy` flags the data as
    lossy (JPEG) in the report and the results.
    """
    base = QUICK if quick else FULL
    p = {"dataset": dataset or base["dataset"], "corruptions": list(corruptions or
         base["corruptions"]), "levels": [float(v) for v in levels or base["levels"]],
         "epochs": epochs or base["epochs"], "limit": limit or base["limit"],
         "test_limit": test_limit or base["test_limit"],
         "val_images": val_images or base["val_images"],
         "baselines": list(baselines or BASELINES.names()), "data_options": data_options or {},
         "lossy": bool(lossy)}
    for b in p["baselines"]:
        BASELINES.get(b, key="study option baselines")
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    base_cfg = {"name": "restoration",
                "data": {"name": p["dataset"], "limit": p["limit"], "test_limit": p["test_limit"],
                         "options": p["data_options"]},
                "loss": {"name": "bce"},
                "train": {"epochs": p["epochs"], "batch_size": base["batch_size"], "lr": 2e-3,
                          "seed": 0}}
    splits = prepare_data(RunConfig.from_dict(base_cfg), progress=progress)
    shape = splits.data.image_shape
    base_cfg["model"] = model_for(shape)
    x_val = splits.x_val[:p["val_images"]]
    x_test = splits.x_test
    specs = {c: corruption_specs(c, p["levels"], shape[1]) for c in p["corruptions"]}

    runs = {}
    for c, pairs in specs.items():
        for level, spec in pairs:
            runs[(c, level)] = _train(base_cfg, [spec], out_dir / "runs" / f"{c}-{level:g}",
                                      progress, callbacks)
    if "gaussian" in specs and len(p["levels"]) > 1:
        spec = {"name": "gaussian", "factor": min(p["levels"]), "max_factor": max(p["levels"])}
        runs[("gaussian", "all")] = _train(base_cfg, [spec], out_dir / "runs" / "gaussian-all",
                                           progress, callbacks)

    records, trials, examples = [], [], {}
    for c, pairs in specs.items():
        for i, (level, spec) in enumerate(pairs):
            corruption = build([spec])
            xv_in, _ = corrupt_array(corruption, x_val, seed=10_000 + 97 * i)
            xt_in, hidden = corrupt_array(corruption, x_test, seed=20_000 + 97 * i)
            xv, xt = x_val / np.float32(255), x_test / np.float32(255)
            outputs = {"noisy": xt_in}
            for tag, key in (("autoencoder", (c, level)), ("autoencoder_all_levels", (c, "all"))):
                if key in runs:
                    outputs[tag] = restore_array(load_run(runs[key])[1], xt_in)
            for b in p["baselines"]:
                if b == "bm3d" and c in SINGLE:
                    continue  # BM3D's gaussian noise model says nothing about erased pixels
                baseline = BASELINES.get(b)()
                tuned = tune(baseline, xv, xv_in)
                outputs[b] = baseline.denoise(xt_in, **tuned.params)
                outputs[f"{b}_corrected"] = tuned.correction.transform(
                    baseline.denoise(xt_in, **tuned.params_corrected))
                trials += [{"corruption": c, "level": level, "method": b, **t}
                           for t in tuned.trials]
            for method, x_hat in outputs.items():
                rec = {"dataset": p["dataset"], "corruption": c, "level": level,
                       "method": method, **scores(xt, x_hat)}
                if hidden is not None:
                    h = hidden_region(xt, x_hat, hidden)
                    rec |= {"hidden_mse": h["mse"], "hidden_psnr_db": h["psnr_db"]}
                records.append(rec)
            examples[(c, level)] = (xt, xt_in, outputs)
            if progress is None:
                print(f"  {c} {level}: " + ", ".join(
                    f"{r['method']} {r['psnr_db']:.2f}" for r in records[-len(outputs):]),
                    flush=True)

    seconds = time.perf_counter() - t0
    _write_results(out_dir, p, records, trials, seconds, splits, quick)
    return _write_report(out_dir, p, records, trials, examples, splits, seconds)


def _train(base_cfg: dict, corruption: list[dict], run_dir: Path, progress, callbacks) -> Path:
    cfg = RunConfig.from_dict({**base_cfg, "name": run_dir.name, "corruption": corruption})
    return train_run(cfg, run_dir, overwrite=True, progress=progress, callbacks=callbacks)


def _command(p: dict, quick: bool) -> str:
    opts = [f"--option '{k}={json.dumps(p[k], separators=(',', ':'))}'" for k in
            ("corruptions", "levels", "epochs", "limit", "test_limit", "val_images", "baselines")]
    if p["data_options"]:
        inline = ",".join(f"{k}={json.dumps(v)}" for k, v in p["data_options"].items())
        opts.append(f"--option 'data_options={{{inline}}}'")
    if p["lossy"]:
        opts.append("--option lossy=true")
    return ("AELAB_DATA=../shared/datasets .venv/bin/aelab study restoration"
            f"{' --quick' if quick else ''} --dataset {p['dataset']} "
            f"--out studies/restoration_{p['dataset']} " + " ".join(opts))


def _write_results(out_dir, p, records, trials, seconds, splits, quick) -> Path:
    import bm3d
    import skimage
    import sklearn
    import torch

    result = {
        "study": "restoration", "command": _command(p, quick),
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "cpu_count": __import__("os").cpu_count(),
                    "torch_threads": torch.get_num_threads()},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__, "scikit-image": skimage.__version__,
                     "scikit-learn": sklearn.__version__,
                     "bm3d": getattr(bm3d, "__version__", "4.x")},
        "settings": {**p, "n_train": len(splits.x_train), "n_val_baselines": min(
            p["val_images"], len(splits.x_val)), "n_test": len(splits.x_test),
            "psnr": "mean over test images of 10*log10(1/MSE_i), data range 1",
            "baseline_parameters": "chosen on the validation images, never the test images",
            "seconds": round(seconds, 1)},
        "records": records, "tuning": trials,
    }
    path = out_dir / f"restoration_{p['dataset']}.json"
    path.write_text(json.dumps(result, indent=1, default=float), encoding="utf-8")
    return path


def _pivot(records, corruption, key):
    rows = {}
    for r in records:
        if r["corruption"] == corruption:
            rows.setdefault(r["level"], {"level": r["level"]})[r["method"]] = r[key]
    return list(rows.values())


def _curves(records, corruption):
    from matplotlib.figure import Figure

    methods = list(dict.fromkeys(r["method"] for r in records if r["corruption"] == corruption))
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    for k, (key, label) in enumerate((("psnr_db", "PSNR (dB)"), ("ssim", "SSIM"))):
        ax = fig.add_subplot(1, 2, k + 1)
        for m in methods:
            pts = sorted((r["level"], r[key]) for r in records
                         if r["corruption"] == corruption and r["method"] == m)
            style = "--" if m in BASELINES else ":" if m == "noisy" else "-"
            ax.plot(*zip(*pts, strict=True), style, marker="o", markersize=3, label=m)
        ax.set_xlabel("noise factor" if corruption == "gaussian" else "level")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle(f"{corruption}: {label.split()[0]} and PSNR against the level", fontsize=10)
    return fig


def _one_per_class(y: np.ndarray, n_classes: int) -> np.ndarray:
    idx = [int(np.flatnonzero(y == k)[0]) for k in range(n_classes) if (y == k).any()]
    return np.array(idx[:10]) if idx else np.arange(min(10, len(y)))


def _write_report(out_dir, p, records, trials, examples, splits, seconds) -> Path:
    fig_dir = out_dir / "figures"
    pick = _one_per_class(splits.y_test, len(splits.data.class_names))
    blocks_fig = []
    for c in p["corruptions"]:
        if len({r["level"] for r in records if r["corruption"] == c}) > 1:
            blocks_fig.append(save_figure(_curves(records, c), fig_dir / f"{c}_curves.png"))
    for kind, wanted in (("noise", LEVELLED), ("inpainting", SINGLE)):
        rows, labels = [], []
        for (c, level), (xt, xt_in, outs) in examples.items():
            shown = set(EXAMPLE_LEVELS) & set(p["levels"]) or {max(p["levels"])}
            if c not in wanted or (c in LEVELLED and level not in shown):
                continue
            if not rows:
                rows, labels = [xt[pick]], ["clean"]
            rows += [xt_in[pick], outs["autoencoder"][pick]]
            labels += [f"{c} {level:g}", "autoencoder"]
        if rows:
            blocks_fig.append(save_figure(restoration_figure(rows, labels),
                                          fig_dir / f"examples_{kind}.png"))
    n_train, n_test = len(splits.x_train), len(splits.x_test)
    setup = [
        f"Dataset {p['dataset']}: {n_train} training images ({p['epochs']} epochs, a subset of "
        f"the training set when limit={p['limit']} is below its size), baselines tuned on "
        f"{min(p['val_images'], len(splits.x_val))} validation images, every method scored on "
        f"the same {n_test} corrupted test images. Total time {seconds / 60:.1f} min.",
        "PSNR is the mean over test images of the per-image PSNR, 10 log10(1 / MSE_i), with "
        "data range 1 (images in [0, 1]); SSIM is the mean per-image SSIM (skimage, data "
        "range 1); MSE is per pixel.",
        "Every baseline's parameter is chosen on the validation images (never the test images), "
        "separately for the plain method and for '<method>_corrected', which applies a "
        "monotone per-intensity map (isotonic regression) fitted on validation pixels: clipped "
        "noise is far from zero-mean on dark pixels, so plain NLM/TV/BM3D keep a grey haze.",
        "autoencoder: a conv denoiser trained at that level; autoencoder_all_levels: one "
        "trained with each image's noise factor drawn from [min, max] of the levels. BM3D runs "
        "on mosaics of 10 x 10 images (its per-call cost), only for noise corruptions.",
    ]
    if p["lossy"]:
        setup.append("LOSSY DATA: these images were decoded from JPEG files, so clean targets "
                     "carry compression artefacts. A demonstration, not a headline number.")
    sections = [("Setup", setup)]
    for c in p["corruptions"]:
        sections.append((f"{c}: PSNR (dB)", [_pivot(records, c, "psnr_db")]))
        sections.append((f"{c}: SSIM", [_pivot(records, c, "ssim")]))
        if c in SINGLE:
            sections.append((f"{c}: PSNR inside the hidden region (dB)",
                             [_pivot(records, c, "hidden_psnr_db")]))
    sections.append(("Figures", blocks_fig or ["No figures."]))
    sections.append(("Parameters tried on the validation images", [trials] if trials else
                     ["No baselines."]))
    return write_html_page(out_dir / "report.html", f"Restoration study on {p['dataset']}",
                           sections, subtitle="denoising and inpainting autoencoders against "
                           "classical denoisers")
