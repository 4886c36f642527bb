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

Each generator VAE is an ordinary run folder ``runs/vae-<size>-per-class-seed<seed>`` (or
``vae-all-seed<seed>``), planned as a run config and trained by the executors: the subset is
``data.per_class`` (seeded by ``train.seed``), the step budget is ``data.limit`` and
``train.epochs`` (`budget`), and ``model.noise_seed`` gives each VAE its own sampling noise.
The judge (`aelab.judge`, cached in its folder) and the few-shot classifiers are trained while
scoring.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ..config import RunConfig
from ..data import per_class_subset
from ..errors import ConfigError
from ..executors import PlannedRun
from ..files import read_json
from ..generate import samplers
from ..generate.figures import flip_plot
from ..generate.metrics import sample_metrics
from ..judge import judge_accuracy, judge_run, load_judge
from ..models.classifier import create_classifier
from ..report.figures import image_grid, save_figure
from ..runs import load_run
from ..train import seeded
from ..train.classify import accuracy, train_classifier
from . import STUDIES
from .base import Results, Study, StudyOptions

FIRST_CLASSES = (2, 3, 8)   # the source looked at twos, threes and eights
VAE = {"name": "vae_dense", "latent_dim": 16, "hidden": [256, 128]}
GEN_BATCH = 64               # batch size of the generator VAEs
SMALL_CNN = {"channels": [16, 32], "hidden": 64}
CLF_BATCH = 64               # and of the few-shot classifiers
# The judge's training settings (`aelab.judge.judge_run`): full study / --quick.
JUDGE = {"full": {"epochs": 2}, "quick": {"epochs": 8, "channels": (16, 32), "hidden": 64}}


@dataclass(frozen=True)
class Options(StudyOptions):
    """`sizes` images per class, each an integer >= 2 or "all" ([10, 100, 1000, "all"];
    quick [10, "all"]); `seeds` ([0, 1, 2]; quick [0, 1]); `gen_steps` (VAE optimizer steps,
    1000; quick 150); `clf_steps` (classifier steps, 200; quick 20); `gen_per_class` (images
    generated per class and judged, 200; quick 24); `modes_k` (k-means modes of the real
    images of a class, 10; quick 4); `judge_dir` (default runs/judges/<dataset>, or inside
    the study's folder with --quick); `try_variants` (the extra ways of augmenting tried at
    the smallest size)."""

    sizes: tuple[int | Literal["all"], ...] = (10, 100, 1000, "all")
    seeds: tuple[int, ...] = (0, 1, 2)
    gen_steps: int = 1000
    clf_steps: int = 200
    gen_per_class: int = 200
    modes_k: int = 10
    judge_dir: str | None = None
    try_variants: bool = True
    QUICK = {"sizes": (10, "all"), "seeds": (0, 1), "gen_steps": 150, "clf_steps": 20,
             "gen_per_class": 24, "modes_k": 4}

    def check(self, study: str) -> None:
        bad = [s for s in self.sizes if s != "all" and s < 2]
        if not self.sizes or bad:
            raise ConfigError(f"study {study!r}: option sizes = {json.dumps(list(self.sizes))}"
                              " is not allowed: give images per class, each an integer >= 2 "
                              "or \"all\", e.g. [10, \"all\"].")
        if not self.seeds or min(self.seeds) < 0:
            raise ConfigError(f"study {study!r}: option seeds = {list(self.seeds)} is not "
                              "allowed: give at least one seed, each >= 0, e.g. [0].")
        for key in ("gen_steps", "clf_steps", "gen_per_class", "modes_k"):
            if getattr(self, key) < 1:
                raise ConfigError(f"study {study!r}: option {key} = {getattr(self, key)} is "
                                  "not allowed; it must be an integer >= 1.")


def budget(n: int, steps: int, batch_size: int) -> tuple[int | None, int]:
    """(limit, epochs) for `steps` full batches' worth of images (``steps * batch_size``)
    drawn from `n`: whole epochs over all of them (limit None; at least that many images), or,
    when that is less than one epoch, one epoch over a seeded random subset of that size (the
    limit)."""
    wanted = steps * batch_size
    if wanted >= n:
        return None, math.ceil(wanted / n)
    return wanted, 1


def _tag(size) -> str:
    return "all" if size == "all" else f"{size}-per-class"


def _label(size) -> str:
    return "all" if size == "all" else f"{size} per class"


@STUDIES.register("augmentation")
class Augmentation(Study):
    """One generator VAE per training-set size and seed; its samples judged, walked until the
    judge's label flips, and added to a few-shot classifier's training set."""

    Options = Options

    def plan(self) -> list[PlannedRun]:
        return [PlannedRun(f"vae-{_tag(size)}-seed{seed}", self.generator_config(size, seed))
                for size in self.opts.sizes for seed in self.opts.seeds]

    def generator_config(self, size, seed: int) -> RunConfig:
        """The run config of the generator VAE of (`size`, `seed`): `size` images per class
        (``data.per_class``) and the same number of optimizer steps whatever the size
        (`budget`: ``data.limit`` and ``train.epochs``); no validation split."""
        y = self.data.y_train
        n_pool = len(y) if size == "all" else size * len(np.unique(y))
        limit, epochs = budget(n_pool, self.opts.gen_steps, GEN_BATCH)
        return RunConfig.from_dict({
            "name": f"augmentation-vae-{_tag(size)}-seed{seed}",
            "data": {"name": self.dataset, "per_class": None if size == "all" else size,
                     "limit": limit, "val_fraction": 0.0},
            "model": {**VAE, "noise_seed": seed}, "loss": {"name": "bce", "kl_weight": 1.0},
            "train": {"epochs": epochs, "batch_size": GEN_BATCH, "lr": 1e-3, "seed": seed,
                      "device": "cpu"}})

    def real_subset(self, size, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The real training images of (`size`, `seed`), as ``data.per_class`` draws them for
        the generator's run (before its step budget's `limit`)."""
        data = self.data
        if size == "all":
            return data.x_train, data.y_train
        idx = per_class_subset(data.y_train, size, seed)
        return data.x_train[idx], data.y_train[idx]

    def score(self, runs: dict[str, Path]) -> Results:
        o, data = self.opts, self.data
        quick = self.quick
        self.jdir = judge_run(self.dataset, o.judge_dir or (self.out_dir / "judge" if quick
                                                            else None),
                              progress=self.progress, **JUDGE["quick" if quick else "full"])
        judge = load_judge(self.jdir)
        # real yardstick: 2 x gen_per_class test images per class (one half defines the modes)
        real_test = {c: data.x_test[data.y_test == c][: 2 * o.gen_per_class]
                     for c in range(len(data.class_names))}
        records, self.tried, walks, self.figures = [], [], {}, []
        for size in o.sizes:
            for seed in o.seeds:
                run = runs[f"vae-{_tag(size)}-seed{seed}"]
                _, model = load_run(run)
                x, y = self.real_subset(size, seed)
                rec, extra = self._one(model, judge, x, y, real_test, size, seed,
                                       first_seed=seed == o.seeds[0])
                rec["generator_seconds"] = read_json(run / "metrics.json",
                                                     "run metrics")["train_seconds"]
                records.append(rec | {"judge_test_accuracy": judge_accuracy(self.jdir)})
                self.tried += extra.pop("tried")
                if "walks" in extra:
                    walks[_label(size)] = extra.pop("walks")
                self.figures += extra.get("figures", [])
        save_figure(flip_plot(walks, class_names=data.class_names),
                    self.fig_dir / "flip_plot.png")
        return Results(records, settings=self._settings(), extra={
            "judge": read_json(Path(self.jdir) / "metrics.json", "judge metrics"),
            "seconds": self.seconds(), "tried_at_smallest_size": self.tried,
            "summary": summary_table(records)})

    def _one(self, model, judge, x, y, real_test, size, seed, *, first_seed):
        o, data = self.opts, self.data
        n_gen = o.gen_per_class
        generated = _generate(model, x, y, n_gen, seed)
        summary, _ = sample_metrics(judge, generated, real_test, k=o.modes_k, seed=seed)
        classes = [c for c in FIRST_CLASSES if c in generated] or sorted(generated)[:3]
        walk = _walks(model, judge, x, y, classes, seed)
        flips = np.array([w["flip_scale"] for w in walk])
        steps = o.clf_steps
        acc_real = few_shot_accuracy(x, y, data, steps=steps, seed=seed)
        acc_aug = few_shot_accuracy(*_stack(x, y, generated), data, steps=steps, seed=seed)
        rec = {"n_per_class": size, "seed": seed, "n_train_real": len(x),
               "n_generated": n_gen * len(generated), "sampler": "class_gaussian",
               "recognition_rate": summary["recognition_rate"],
               "mean_confidence": summary["mean_confidence"],
               "diversity": summary["diversity"], "diversity_real": summary["diversity_real"],
               "modes": summary["modes"], "modes_real": summary["modes_real"],
               "frechet_judge": summary["frechet_judge"],
               "frechet_judge_real": summary["frechet_judge_real"],
               "flip_scale_median": float(np.nanmedian(flips)) if np.isfinite(flips).any()
               else math.nan, "flipped_share": float(np.isfinite(flips).mean()),
               "acc_real": acc_real, "acc_real_plus_generated": acc_aug}
        extra: dict = {"tried": []}
        if first_seed:
            extra["walks"] = walk
            extra["figures"] = _figures(model, generated, x, y, classes, walk, size,
                                        self.fig_dir, data.class_names)
        if o.try_variants and size == o.sizes[0]:
            extra["tried"] = _variants(model, x, y, data, seed, o, generated, rec)
        return rec, extra

    def _settings(self) -> dict:
        return {"generator": VAE, "generator_batch_size": GEN_BATCH,
                "classifier": {"name": "cnn", **SMALL_CNN}, "classifier_batch_size": CLF_BATCH,
                "judge_settings": JUDGE["quick" if self.quick else "full"],
                "sampler": "class_gaussian (Ledoit-Wolf)",
                "note": "every size gets the same number of optimizer steps (gen_steps, "
                        "clf_steps at batch 64); for 'all' (and 1000 per class with generated "
                        "data) that is less than an epoch, drawn as a random subset of the "
                        "pool; frechet_judge is a Fréchet distance in the judge CNN's feature "
                        "space, not the Inception FID"}

    def report(self, results: Results):
        o, fig_dir = self.opts, self.fig_dir
        judge = results.extra["judge"]
        sections = [
            ("Set-up", [
                f"Dataset {self.dataset}. Judge: reference CNN trained on all "
                f"{judge['n_train']} training images ({judge['epochs']} epochs), test accuracy "
                f"{judge['test_accuracy']:.4f}. Generator: dense VAE (latent 16) trained "
                f"{o.gen_steps} steps on each subset; {o.gen_per_class} images generated per "
                "class from a Gaussian fitted to that class's codes. Few-shot classifier: "
                f"small CNN, {o.clf_steps} steps, real subset alone vs real + generated. Every "
                "size gets the same number of steps; where that is less than one epoch "
                "('all'), the steps see a random subset of the pool. Each generator is a run "
                "folder in runs/ (`aelab evaluate` and `aelab report` open it).",
                "frechet_judge is a Fréchet distance in the judge's feature space (the FID "
                "formula without Inception weights); frechet_judge_real is the same distance "
                "between two sets of real test images: the floor. Diversity is the mean "
                "pairwise distance in the judge's feature space; modes counts the k-means "
                "modes of real images of the class that receive at least 2% of the samples."]),
            ("Summary: mean ± standard deviation over seeds", [summary_table(results.records)]),
            ("All runs", [[{k: v for k, v in r.items() if k != "judge_test_accuracy"}
                           for r in results.records]]),
        ]
        if self.tried:
            sections.append(("What was tried at the smallest size",
                             [_variant_table(self.tried)]))
        sections.append(("Generated images, interpolations, extrapolations", list(self.figures)))
        sections.append(("Flip plot", [
            "Codes walked away from their class mean (direction: example minus class mean) in "
            "steps of the codes' standard deviation; a dot marks where the judge stops "
            "recognizing the intended class.", fig_dir / "flip_plot.png"]))
        return sections

    def title(self) -> str:
        return f"Augmentation study ({self.dataset})"


def few_shot_accuracy(x: np.ndarray, y: np.ndarray, data, *, steps: int, seed: int,
                      shift: int = 0, batch_size: int = CLF_BATCH) -> float:
    """Test accuracy of a small CNN trained for about `steps` steps on (x, y) (on a seeded
    random subset when that is less than an epoch: `budget`)."""
    limit, epochs = budget(len(x), steps, batch_size)
    if limit is not None:
        keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:limit])
        x, y = x[keep], y[keep]
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


def _variants(model, x, y, data, seed, o: Options, generated, rec) -> list[dict]:
    """Other ways of using generated data at the smallest size (real-only with shifts as the
    classic baseline)."""
    steps, n_gen = o.clf_steps, o.gen_per_class
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
