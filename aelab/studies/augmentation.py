"""Augmentation study: does a VAE trained on few examples generate images that a judge
recognizes, how varied are they, and do they help a few-shot classifier?

For each training-set size (10, 100, 1000 images per class, and all) and each seed:

1. draw that many training images per class (seeded);
2. train a dense VAE on them (a fixed number of optimizer steps, whatever the size);
3. generate images per class from a Gaussian fitted to that class's codes;
4. judge them with the reference CNN trained on the full training set (`aelab.judge`):
   recognition rate, confidence, diversity and modes in the judge's feature space against
   real test images of the class, and a Fréchet distance in the judge's feature space
   (not the Inception FID);
5. walk codes away from their class mean until the judge's label flips (the flip scale);
6. train a small CNN on the real subset alone, and on real + generated images, with the same
   number of steps, and test both on the official test set.

At the smallest size a few other ways of using generated data are tried as well (fewer
generated images, perturbed codes instead of the class Gaussian, random shifts).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from ..config import LossConfig, TrainConfig
from ..data import load_dataset
from ..errors import ConfigError
from ..generate import samplers
from ..generate.figures import flip_plot
from ..generate.metrics import sample_metrics
from ..judge import judge_accuracy, judge_run, load_judge
from ..losses import build_objective
from ..models import create_model
from ..models.classifier import create_classifier
from ..provenance import provenance
from ..report.figures import image_grid, save_figure
from ..report.page import write_html_page
from ..train import Batches, fit, seeded, write_json
from ..train.classify import accuracy, train_classifier
from . import STUDIES

FIRST_CLASSES = (2, 3, 8)   # the source looked at twos, threes and eights
VAE = {"name": "vae_dense", "latent_dim": 16, "hidden": [256, 128]}
SMALL_CNN = {"channels": [16, 32], "hidden": 64}
FULL = {"sizes": (10, 100, 1000, "all"), "seeds": (0, 1, 2), "gen_steps": 1000,
        "clf_steps": 200, "gen_per_class": 200, "judge": {"epochs": 2}, "modes_k": 10}
QUICK = {"sizes": (10, "all"), "seeds": (0, 1), "gen_steps": 150, "clf_steps": 20,
         "gen_per_class": 24, "modes_k": 4,
         "judge": {"epochs": 8, "channels": (16, 32), "hidden": 64}}


@STUDIES.register("augmentation")
def augmentation(out_dir: Path, *, quick: bool = False, dataset: str | None = None,
                 progress=None, callbacks=(), sizes: list | None = None,
                 seeds: list | None = None, gen_steps: int | None = None,
                 clf_steps: int | None = None, gen_per_class: int | None = None,
                 judge_dir: str | None = None, try_variants: bool = True) -> Path:
    """Run the study into `out_dir`; return its ``report.html``. Also writes
    ``results.json`` (flat records) and the figures under ``figures/``.

    Options (defaults: full / quick): `sizes` images per class, an int or "all"
    ([10, 100, 1000, "all"] / [10, "all"]); `seeds` ([0, 1, 2] / [0, 1]); `gen_steps`
    (VAE optimizer steps, 1000 / 150); `clf_steps` (classifier steps, 200 / 20);
    `gen_per_class` (images generated per class and judged, 200 / 24); `judge_dir` (default
    runs/judges/<dataset>, or inside `out_dir` with --quick); `try_variants` (the extra ways of
    augmenting tried at the smallest size).
    """
    base = QUICK if quick else FULL
    name = dataset or ("digits" if quick else "mnist")
    p = {"sizes": tuple(sizes or base["sizes"]), "seeds": tuple(seeds or base["seeds"]),
         "gen_steps": gen_steps or base["gen_steps"], "clf_steps": clf_steps or base["clf_steps"],
         "gen_per_class": gen_per_class or base["gen_per_class"], "modes_k": base["modes_k"]}
    for s in p["sizes"]:
        if s != "all" and not (isinstance(s, int) and s >= 2):
            raise ConfigError(f"sizes: each size is an int >= 2 or \"all\"; got {s!r}.")
    fig_dir = Path(out_dir) / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    jdir = judge_run(name, judge_dir or (Path(out_dir) / "judge" if quick else None),
                     progress=progress, **base["judge"])
    judge = load_judge(jdir)
    data = load_dataset(name, progress=progress)
    # real yardstick: 2 x gen_per_class test images per class (one half defines the modes)
    real_test = {c: data.x_test[data.y_test == c][: 2 * p["gen_per_class"]]
                 for c in range(len(data.class_names))}
    records, tried, walks, figures = [], [], {}, []
    for size in p["sizes"]:
        for seed in p["seeds"]:
            rec, extra = _one(data, judge, real_test, size, seed, p, fig_dir,
                              first_seed=seed == p["seeds"][0], try_variants=try_variants)
            records.append(rec | {"judge_test_accuracy": judge_accuracy(jdir)})
            tried += extra.pop("tried")
            if "walks" in extra:
                walks[_label(size)] = extra.pop("walks")
            figures += extra.get("figures", [])
    save_figure(flip_plot(walks, class_names=data.class_names), fig_dir / "flip_plot.png")
    results = _results(name, p, records, tried, jdir, time.perf_counter() - t_start, quick)
    write_json(Path(out_dir) / "results.json", results)
    return _report(Path(out_dir), name, jdir, records, tried, figures, fig_dir, p)


def _label(size) -> str:
    return "all" if size == "all" else f"{size} per class"


def _subset(y: np.ndarray, size, seed: int) -> np.ndarray:
    """Sorted indices of `size` images per class (seeded), or all of them."""
    if size == "all":
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), size, replace=False)
                                   for c in np.unique(y)]))


def _budget(x: np.ndarray, y, steps: int, batch_size: int, seed: int):
    """(x, y, epochs) for about `steps` optimizer steps: whole epochs over `x`, or, when
    `steps` batches are less than one epoch, one epoch over a random subset of that size."""
    n = steps * batch_size
    if n >= len(x):
        return x, y, math.ceil(n / len(x))
    keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:n])
    return x[keep], (None if y is None else y[keep]), 1


def train_generator(x: np.ndarray, *, steps: int, seed: int, batch_size: int = 64):
    """A dense VAE (latent 16) trained for about `steps` optimizer steps on uint8 images `x`
    (when that is less than an epoch, on a random subset of steps * batch_size images)."""
    x, _, epochs = _budget(x, None, steps, batch_size, seed)
    with seeded(seed):
        model = create_model(VAE["name"], input_shape=x.shape[1:],
                             **{k: v for k, v in VAE.items() if k != "name"})
    model.generator = torch.Generator().manual_seed(seed)
    batches = Batches(x, batch_size=batch_size, shuffle=True, seed=seed)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size,
                      lr=1e-3, seed=seed, device="cpu")
    objective = build_objective(LossConfig(name="bce", kl_weight=1.0), model)
    fit(model, objective, batches, None, cfg, device=torch.device("cpu"))
    return model.eval()


def few_shot_accuracy(x: np.ndarray, y: np.ndarray, data, *, steps: int, seed: int,
                      shift: int = 0, batch_size: int = 64) -> float:
    """Test accuracy of a small CNN trained for about `steps` steps on (x, y) (on a random
    subset when that is less than an epoch)."""
    x, y, epochs = _budget(x, y, steps, batch_size, seed)
    with seeded(seed):
        model = create_classifier("cnn", data.image_shape, len(data.class_names), **SMALL_CNN)
    train_classifier(model, x, y, epochs=epochs, batch_size=batch_size, lr=3e-3, seed=seed,
                     device="cpu", shift=shift)
    return accuracy(model, data.x_test, data.y_test)


def _generate(model, x, y, n_per_class: int, seed: int, sampler: str = "class_gaussian",
              scale: float = 0.5) -> dict[int, np.ndarray]:
    gen = torch.Generator().manual_seed(10_000 + seed)
    spread = samplers.code_spread(samplers.encode(model, x)) if sampler == "perturb" else None
    out = {}
    for c in np.unique(y):
        xc = x[y == c]
        if sampler == "class_gaussian":
            images = samplers.class_gaussian(model, xc, n_per_class, generator=gen)
        else:
            images = samplers.perturb(model, xc, n_per_class, scale=scale, generator=gen,
                                      spread=spread)
        out[int(c)] = samplers.to_uint8(images)
    return out


def _stack(real_x, real_y, generated: dict[int, np.ndarray]):
    gx = np.concatenate(list(generated.values()))
    gy = np.concatenate([np.full(len(v), c) for c, v in generated.items()])
    return np.concatenate([real_x, gx]), np.concatenate([real_y, gy])


def _walks(model, judge, x, y, classes, seed: int, per_class: int = 4) -> list[dict]:
    """Extrapolate from `per_class` examples of each class away from the class mean."""
    codes = samplers.encode(model, x)
    spread = samplers.code_spread(codes)
    rng = np.random.default_rng(seed)
    out = []
    for c in classes:
        idx = np.flatnonzero(y == c)
        mean = codes[idx].mean(0)
        for i in rng.choice(idx, min(per_class, len(idx)), replace=False):
            direction = codes[i] - mean
            if np.linalg.norm(direction) == 0:   # a class of one example: any direction
                direction = rng.standard_normal(len(mean))
            walk = samplers.extrapolate_until_flip(model, judge, x[i], int(c), direction,
                                                   spread=spread, max_scale=12.0, step=0.25)
            out.append(walk | {"target": int(c)})
    return out


def _one(data, judge, real_test, size, seed, p, fig_dir, *, first_seed, try_variants):
    idx = _subset(data.y_train, size, seed)
    x, y = data.x_train[idx], data.y_train[idx]
    t0 = time.perf_counter()
    model = train_generator(x, steps=p["gen_steps"], seed=seed)
    gen_seconds = time.perf_counter() - t0
    n_gen = p["gen_per_class"]
    generated = _generate(model, x, y, n_gen, seed)
    summary, _ = sample_metrics(judge, generated, real_test, k=p["modes_k"], seed=seed)
    classes = [c for c in FIRST_CLASSES if c in generated] or sorted(generated)[:3]
    walk = _walks(model, judge, x, y, classes, seed)
    flips = np.array([w["flip_scale"] for w in walk])
    steps = p["clf_steps"]
    acc_real = few_shot_accuracy(x, y, data, steps=steps, seed=seed)
    acc_aug = few_shot_accuracy(*_stack(x, y, generated), data, steps=steps, seed=seed)
    n_per_class = size if size != "all" else "all"
    rec = {"n_per_class": n_per_class, "seed": seed, "n_train_real": len(x),
           "n_generated": n_gen * len(generated), "sampler": "class_gaussian",
           "recognition_rate": summary["recognition_rate"],
           "mean_confidence": summary["mean_confidence"],
           "diversity": summary["diversity"], "diversity_real": summary["diversity_real"],
           "modes": summary["modes"], "modes_real": summary["modes_real"],
           "frechet_judge": summary["frechet_judge"],
           "frechet_judge_real": summary["frechet_judge_real"],
           "flip_scale_median": float(np.nanmedian(flips)) if np.isfinite(flips).any()
           else math.nan, "flipped_share": float(np.isfinite(flips).mean()),
           "acc_real": acc_real, "acc_real_plus_generated": acc_aug,
           "generator_seconds": gen_seconds}
    extra: dict = {"tried": []}
    if first_seed:
        extra["walks"] = walk
        extra["figures"] = _figures(model, generated, x, y, classes, walk, size, fig_dir,
                                    data.class_names)
    if try_variants and size == p["sizes"][0]:
        extra["tried"] = _variants(model, x, y, data, seed, p, generated, rec)
    return rec, extra


def _variants(model, x, y, data, seed, p, generated, rec) -> list[dict]:
    """Other ways of using generated data at the smallest size (real-only with shifts as the
    classic baseline)."""
    steps, n_gen = p["clf_steps"], p["gen_per_class"]
    fewer = {c: v[: max(1, n_gen // 4)] for c, v in generated.items()}
    perturbed = _generate(model, x, y, n_gen, seed, sampler="perturb", scale=0.5)
    base = {"n_per_class": rec["n_per_class"], "seed": seed}
    rows = [
        base | {"variant": "real only (baseline)", "accuracy": rec["acc_real"]},
        base | {"variant": f"real + class Gaussian, {n_gen}/class (main)",
                "accuracy": rec["acc_real_plus_generated"]},
        base | {"variant": f"real + class Gaussian, {len(next(iter(fewer.values())))}/class",
                "accuracy": few_shot_accuracy(*_stack(x, y, fewer), data, steps=steps,
                                              seed=seed)},
        base | {"variant": f"real + perturbed codes (scale 0.5), {n_gen}/class",
                "accuracy": few_shot_accuracy(*_stack(x, y, perturbed), data, steps=steps,
                                              seed=seed)},
        base | {"variant": "real only, random shifts of 2 px",
                "accuracy": few_shot_accuracy(x, y, data, steps=steps, seed=seed, shift=2)},
        base | {"variant": "real + class Gaussian + random shifts of 2 px",
                "accuracy": few_shot_accuracy(*_stack(x, y, generated), data, steps=steps,
                                              seed=seed, shift=2)},
    ]
    return rows


def _figures(model, generated, x, y, classes, walk, size, fig_dir, class_names) -> list[Path]:
    tag = "all" if size == "all" else f"{size}"
    order = list(classes) + [c for c in sorted(generated) if c not in classes]
    per_row = 10
    grid = np.concatenate([generated[c][:per_row] for c in order])
    paths = [save_figure(image_grid(grid, nrow=per_row),
                         fig_dir / f"generated_{tag}_per_class_rows_{'-'.join(map(str, order))}"
                                   ".png")]
    pairs = list(zip(classes, classes[1:] + classes[:1], strict=True))
    strips = [samplers.interpolate(model, x[y == a][0], x[y == b][0], steps=10)
              for a, b in pairs]
    paths.append(save_figure(image_grid(np.concatenate(strips), nrow=10),
                             fig_dir / (f"interpolation_{tag}_" +
                                        "_".join(f"{class_names[a]}-to-{class_names[b]}"
                                                 for a, b in pairs) + ".png")))
    first = walk[0]
    keep = np.arange(0, len(first["scales"]), max(1, len(first["scales"]) // 12))[:12]
    paths.append(save_figure(image_grid(first["images"][keep], nrow=len(keep), titles=[
        f"{first['scales'][k]:.1f}:{class_names[first['predicted'][k]]}" for k in keep]),
        fig_dir / f"extrapolation_{tag}_scale-and-judge-label.png"))
    return paths


def _mean_sd(rows: list[dict], key: str) -> str:
    v = np.array([r[key] for r in rows], float)
    return f"{np.nanmean(v):.4g} ± {np.nanstd(v, ddof=1) if len(v) > 1 else 0:.2g}"


def summary_table(records: list[dict]) -> list[dict]:
    """Mean ± standard deviation over seeds, one row per training size."""
    out = []
    for size in dict.fromkeys(r["n_per_class"] for r in records):
        rows = [r for r in records if r["n_per_class"] == size]
        out.append({"n_per_class": str(size), "seeds": len(rows)} | {
            k: _mean_sd(rows, k) for k in (
                "recognition_rate", "mean_confidence", "diversity", "diversity_real", "modes",
                "modes_real", "frechet_judge", "frechet_judge_real", "flip_scale_median",
                "acc_real", "acc_real_plus_generated")})
    return out


def _variant_table(tried: list[dict]) -> list[dict]:
    out = []
    for variant in dict.fromkeys(r["variant"] for r in tried):
        rows = [r for r in tried if r["variant"] == variant]
        out.append({"variant": variant, "seeds": len(rows), "accuracy": _mean_sd(rows,
                                                                                  "accuracy")})
    return out


def _results(name, p, records, tried, jdir, seconds, quick) -> dict:
    return {
        "study": "augmentation", "dataset": name,
        **provenance(f"aelab study augmentation{' --quick' if quick else ''} --dataset {name}"),
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in p.items()} | {
            "generator": VAE, "generator_batch_size": 64, "classifier": {"name": "cnn",
                                                                       **SMALL_CNN},
            "classifier_batch_size": 64, "sampler": "class_gaussian (Ledoit-Wolf)",
            "note": "every size gets the same number of optimizer steps (gen_steps, "
                    "clf_steps at batch 64); for 'all' (and 1000 per class with generated "
                    "data) that is less than an epoch, drawn as a random subset of the pool; "
                    "frechet_judge is a Fréchet distance in the judge CNN's feature space, not "
                    "the Inception FID"},
        "judge": json.loads((Path(jdir) / "metrics.json").read_text()),
        "seconds": seconds,
        "records": records, "tried_at_smallest_size": tried,
        "summary": summary_table(records),
    }


def _report(out_dir, name, jdir, records, tried, figures, fig_dir, p) -> Path:
    judge = json.loads((Path(jdir) / "metrics.json").read_text())
    sections = [
        ("Set-up", [
            f"Dataset {name}. Judge: reference CNN trained on all {judge['n_train']} training "
            f"images ({judge['epochs']} epochs), test accuracy {judge['test_accuracy']:.4f}. "
            f"Generator: dense VAE (latent 16) trained {p['gen_steps']} steps on each subset; "
            f"{p['gen_per_class']} images generated per class from a Gaussian fitted to that "
            f"class's codes. Few-shot classifier: small CNN, {p['clf_steps']} steps, real "
            "subset alone vs real + generated. Every size gets the same number of steps; where "
            "that is less than one epoch ('all'), the steps see a random subset of the pool.",
            "frechet_judge is a Fréchet distance in the judge's feature space (the FID "
            "formula without Inception weights); frechet_judge_real is the same distance "
            "between two sets of real test images: the floor. Diversity is the mean pairwise "
            "distance in the judge's feature space; modes counts the k-means modes of real "
            "images of the class that receive at least 2% of the samples."]),
        ("Summary: mean ± standard deviation over seeds", [summary_table(records)]),
        ("All runs", [[{k: v for k, v in r.items() if k != "judge_test_accuracy"}
                       for r in records]]),
    ]
    if tried:
        sections.append(("What was tried at the smallest size", [_variant_table(tried)]))
    sections.append(("Generated images, interpolations, extrapolations", list(figures)))
    sections.append(("Flip plot", [
        "Codes walked away from their class mean (direction: example minus class mean) in "
        "steps of the codes' standard deviation; a dot marks where the judge stops "
        "recognizing the intended class.", fig_dir / "flip_plot.png"]))
    return write_html_page(out_dir / "report.html", f"Augmentation study ({name})", sections)
