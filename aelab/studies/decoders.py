"""Decoders: one convolutional encoder, three ways back up, and strided convs against pooling.

The encoder is the classic Keras one: three stages of 3x3 conv + ReLU with 16, 8, 8 channels,
each halving the image, 28 -> 14 -> 7 -> 4 on MNIST, and a 1x1 conv to the code, 8 maps of
4x4 (128 numbers, no dense bottleneck). The variants (``model.downsample`` +
``model.upsample`` of the `conv` family):

- ``maxpool-nearest``: 2x2 max-pooling; nearest-neighbour upsampling, then a 3x3 conv;
- ``maxpool-transposed``: max-pooling; a 3x3 transposed conv of stride 2;
- ``maxpool-unpool``: max-pooling; max-unpooling with the encoder's pooling indices, then a
  3x3 conv;
- ``stride-nearest``: the halving done by the encoder's convs themselves (stride 2, no
  pooling); nearest upsampling, so it differs from ``maxpool-nearest`` in the encoder only;
- ``stride-transposed`` (not in the defaults): the all-convolutional pairing.

Each variant is trained for every seed (10 epochs, batch 32, Adam 1e-3, BCE on the logits).
Records per (variant, seed): test MSE per pixel, squared error per image, SSIM, BCE, the
parameter count and the seconds per epoch (mean of history.csv). A summary gives mean and
standard deviation over seeds per variant and the median, ranked by the median test MSE, and
counts the collapsed seeds (runs stuck at about the mean image: with 8 channels and ReLUs a
seed can die at its first steps).

Unpooling without indices. A code sampled from a distribution (to generate an image) has no
encoder behind it, so no pooling indices: ``decode(z)`` then puts each value at the top-left
of its 2x2 window. There is no true image for a sampled code, so the unpool records measure
the loss of the indices where the answer is known, and on sampled codes against the best
indices at hand:

- ``indices_per_image``: how many pooling indices the decoder gets besides the code (each
  one of up to 4 positions, so up to 2 bits): with them, unpooling reconstructs through a
  channel around the bottleneck (3,656 indices beside a 128-number code on MNIST), so its
  test error with indices is not the error of the code alone;
- ``no_indices_mse`` / ``no_indices_ssim``: the test images decoded from their own codes
  without the indices, against the images (compare with ``test_mse``);
- ``index_gap_mse``: MSE between decode(z, indices) and decode(z) for the test codes: how
  much of the output the indices decide;
- ``sampled_index_gap_mse``: the same for codes drawn from a Gaussian fitted to the test
  codes (Ledoit-Wolf covariance), each given the indices of its nearest test code.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ..config import RunConfig
from ..errors import ConfigError
from ..evaluate import metrics
from ..executors import PlannedRun
from ..generate.samplers import decode, encode, gaussian_codes
from ..infer import batched, reconstruct
from ..report.figures import curves_by_label, save_figure
from ..report.html import read_history
from ..runs import load_run, prepare_data
from . import STUDIES
from ._shared import one_per_class, rows_figure
from .base import Results, Study, StudyOptions

Variant = Literal["maxpool-nearest", "maxpool-transposed", "maxpool-unpool", "stride-nearest",
                  "stride-transposed"]
VARIANTS = typing.get_args(Variant)
SHOWN = ("test_mse", "test_sse_per_image", "test_ssim", "test_bce", "parameters")
UNPOOL_KEYS = ("indices_per_image", "no_indices_mse", "no_indices_ssim", "index_gap_mse",
               "sampled_index_gap_mse")
SUMMARIZED = (*SHOWN, "seconds_per_epoch", *UNPOOL_KEYS[1:])
# The seed report: "error 0.086" for unpooling after 10 epochs at batch 32, loss not named.
REFERENCE = {"variant": "maxpool-unpool", "error": 0.086, "epochs": 10, "batch_size": 32}


@dataclass(frozen=True)
class Options(StudyOptions):
    """`variants` (maxpool-nearest, maxpool-transposed, maxpool-unpool, stride-nearest);
    `seeds` ([0, 1, 2]; quick [0]); `epochs` (10; quick 6) and `batch_size` (32), as in
    the seed report; `lr` (1e-3; quick 3e-3); `loss` (bce); `channels` of the encoder
    stages ([16, 8, 8]: 28 -> 14 -> 7 -> 4) and `latent_dim` maps of the code (8); `limit`
    training and `test_limit` test images (all; quick 500 and 200); `samples` Gaussian codes
    for the unpool measure (1000; quick 100)."""

    variants: tuple[Variant, ...] = ("maxpool-nearest", "maxpool-transposed", "maxpool-unpool",
                                     "stride-nearest")
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    loss: Literal["bce", "mse"] = "bce"
    channels: tuple[int, ...] = (16, 8, 8)
    latent_dim: int = 8
    limit: int | None = None
    test_limit: int | None = None
    samples: int = 1000
    QUICK = {"seeds": (0,), "epochs": 6, "lr": 3e-3, "limit": 500, "test_limit": 200,
             "samples": 100}

    def check(self, study: str) -> None:
        for key in ("variants", "seeds"):
            values = getattr(self, key)
            if not values or len(set(values)) != len(values):
                raise ConfigError(f"study {study!r}: option {key} = {list(values)} must list "
                                  "at least one value, each once.")
        if not self.channels or min(self.channels) < 1:
            raise ConfigError(f"study {study!r}: option channels = {list(self.channels)} must "
                              "list one positive channel count per encoder stage.")
        for key in ("epochs", "batch_size", "latent_dim", "samples"):
            if getattr(self, key) < 1:
                raise ConfigError(f"study {study!r}: option {key} = {getattr(self, key)} must "
                                  "be a positive integer.")
        if self.lr <= 0:
            raise ConfigError(f"study {study!r}: option lr = {self.lr} must be positive.")


@STUDIES.register("decoders")
class Decoders(Study):
    """The same conv encoder decoded by nearest upsampling, transposed convs and max-unpooling,
    and strided convs against max-pooling; over seeds."""

    Options = Options

    def title(self) -> str:
        return "Decoders: nearest, transposed, unpooling; strided conv vs max-pooling"

    def plan(self) -> list[PlannedRun]:
        o = self.opts
        return [PlannedRun(f"{variant}-s{seed}", RunConfig.from_dict({
            "name": f"decoders-{variant}-s{seed}",
            "data": {"name": self.dataset, "limit": o.limit, "test_limit": o.test_limit,
                     "val_fraction": 0.0},
            "model": self.model(variant),
            "loss": {"name": o.loss},
            "train": {"epochs": o.epochs, "batch_size": o.batch_size, "lr": o.lr, "seed": seed},
        })) for variant in o.variants for seed in o.seeds]

    def model(self, variant: str) -> dict:
        downsample, upsample = variant.split("-")
        return {"name": "conv", "latent_dim": self.opts.latent_dim,
                "channels": list(self.opts.channels), "downsample": downsample,
                "upsample": upsample, "bottleneck": "none"}

    def score(self, runs: dict[str, Path]) -> Results:
        o = self.opts
        splits = prepare_data(load_run(next(iter(runs.values())))[0])
        x_test, y_test = splits.x_test, splits.y_test
        shown = one_per_class(y_test, len(splits.data.class_names))
        self.rows = {"original": x_test[shown] / 255.0}
        self.samples: dict[str, np.ndarray] = {}
        self.curves: dict[str, list] = {}
        records = []
        for variant in o.variants:
            for seed in o.seeds:
                folder = runs[f"{variant}-s{seed}"]
                m = json.loads((folder / "metrics.json").read_text())
                history = read_history(folder / "history.csv")
                self.curves.setdefault(variant, []).append(history)
                _, model = load_run(folder)
                record = {"variant": variant, "seed": seed, **{k: m[k] for k in SHOWN},
                          "seconds_per_epoch": float(np.mean([r["seconds"] for r in history])),
                          "epochs": m["epochs"], "n_train": m["n_train"], "n_test": m["n_test"]}
                if variant.endswith("unpool"):
                    record |= without_indices(model, x_test, o.samples, seed)
                records.append(record)
                if seed == o.seeds[0]:
                    self.figure_rows(variant, model, x_test[shown], x_test)
        baseline = mean_image_errors(splits.x_train, x_test)
        summary = summarize(records, o.variants, baseline)
        return Results(records, settings={"n_train": len(splits.x_train), "n_test": len(x_test),
                                          # the same for every variant
                                          "code_size": encode(model, x_test[:1]).shape[1],
                                          "reference": REFERENCE, "mean_image": baseline},
                       extra={"summary": summary, "ranking": [s["variant"] for s in summary]})

    def figure_rows(self, variant: str, model, x_shown: np.ndarray, x_test: np.ndarray) -> None:
        """Reconstructions of the shown images and images decoded from Gaussian codes (the
        unpool variant decodes both without and with indices, where it can)."""
        label = variant.replace("-", " +\n")          # two lines: the labels stay short
        self.rows[label] = reconstruct(model, x_shown)
        generator = torch.Generator().manual_seed(0)
        z = gaussian_codes(encode(model, x_test), len(x_shown), generator=generator)
        self.samples[label] = decode(model, z)      # no indices: as any sampled code
        if variant.endswith("unpool"):
            self.rows[f"{label},\nno indices"] = decode(model, encode(model, x_shown))

    def report(self, results: Results):
        o, s = self.opts, results.settings
        records, summary = results.records, results.extra["summary"]
        fig = self.fig_dir
        rows_png = save_figure(rows_figure(self.rows), fig / "reconstructions.png")
        samples_png = save_figure(rows_figure(self.samples), fig / "gaussian_samples.png")
        curves_png = save_figure(curves_by_label(self.curves, ylabel=f"training {o.loss} per "
                                                 "pixel (each seed a line)"),
                                 fig / "loss_curves.png")
        setting = (
            f"Dataset {self.dataset}: {s['n_train']} training and {s['n_test']} test images. "
            f"Encoder: {len(o.channels)} stages of 3x3 conv + ReLU with {list(o.channels)} "
            "channels, each halving the image (2x2 max-pooling, or the conv's stride 2), then "
            f"a 1x1 conv to {o.latent_dim} code maps; the decoder mirrors it and ends in a 3x3 "
            f"conv to logits. {o.epochs} epochs, batch {o.batch_size}, Adam {o.lr:g}, "
            f"{o.loss} loss, seeds {list(o.seeds)}; no validation split, all errors on the "
            "test images. Seconds per epoch: mean of history.csv (they depend on the machine "
            "and on what else ran on it).")
        if len({r["parameters"] for r in records}) == 1:
            setting += (f" Every variant has {records[0]['parameters']:,} parameters: a 3x3 "
                        "transposed conv has the weights of the 3x3 conv that follows "
                        "nearest upsampling or unpooling, and pooling has none.")
        sections = [("Setting", [setting]),
                    ("Summary over seeds (mean ± std), best median test MSE first; a "
                     "collapsed seed is a run whose test MSE stayed above "
                     f"{COLLAPSED:.0%} of the mean training image's "
                     f"({s['mean_image']['mse']:.4f}): it learned (about) the mean image",
                     [summary_table(summary)]),
                    ("The seed report's 0.086", [reference_text(summary, s)])]
        if any(v.endswith("unpool") for v in o.variants):
            sections.append(("Unpooling without its indices", [unpool_text(records, s)]))
        sections += [("All runs", [records]),
                     (f"Reconstructions (seed {o.seeds[0]}, one test image per class)",
                      [rows_png]),
                     ("Decoded codes sampled from a Gaussian fitted to the test codes (seed "
                      f"{o.seeds[0]}; unpooling decodes them without indices)", [samples_png]),
                     ("Training loss of every variant", [curves_png])]
        return sections


@torch.no_grad()
def without_indices(model, x_uint8: np.ndarray, n_samples: int, seed: int) -> dict[str, float]:
    """The unpool measures of the module docstring, for a `conv` model with upsample=unpool."""
    model.eval()
    _, indices = model.encoder(torch.zeros(1, *model.input_shape))
    with_idx, without = decode_both(model, x_uint8)
    x = x_uint8.astype(np.float32) / 255.0
    dropped = metrics.reconstruction(x, without)
    codes = encode(model, x_uint8)
    z = gaussian_codes(codes, n_samples, generator=torch.Generator().manual_seed(seed))
    # the nearest test code of each sample (squared distances, without forming all pairs)
    nearest = np.argmin((codes ** 2).sum(1)[None, :] - 2 * z @ codes.T, axis=1)
    with_near, sampled = decode_both(model, x_uint8[nearest], z)
    return {"indices_per_image": sum(i.numel() for i in indices),
            "no_indices_mse": dropped["mse"], "no_indices_ssim": dropped["ssim"],
            "index_gap_mse": float(np.mean((with_idx - without) ** 2)),
            "sampled_index_gap_mse": float(np.mean((with_near - sampled) ** 2))}


def decode_both(model, x_uint8: np.ndarray, z: np.ndarray | None = None,
                batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Images in [0, 1] decoded with the pooling indices of `x_uint8` and without any, from
    the codes of `x_uint8` or, given, from the flat codes `z` (one per image)."""
    def both(x, *given):
        h, indices = model.encoder(x)
        code = model.to_code(h)
        if given:
            code = given[0].view_as(code)
        return torch.sigmoid(model.decode(code, indices)), torch.sigmoid(model.decode(code))

    inputs = (x_uint8,) if z is None else (x_uint8, np.asarray(z, np.float32))
    with_idx, without = batched(both, *inputs, model=model, batch_size=batch_size)
    return with_idx.numpy(), without.numpy()


COLLAPSED = 0.9    # a run whose test MSE is above this share of the mean image's learned nothing


def summarize(records: list[dict], variants: tuple[str, ...],
              mean_image: dict[str, float] | None = None) -> list[dict]:
    """Mean and standard deviation (ddof 1; null for one seed) over seeds of each variant,
    and the median test MSE; best (lowest median test MSE: one failed seed does not decide
    the ranking) first. With the `mean_image` errors, `collapsed` counts the seeds whose
    test MSE is above `COLLAPSED` times the mean image's: runs stuck at (about) the mean
    image, whatever their code, and `test_mse_trained_mean` is the mean over the others."""
    summary = []
    for variant in variants:
        runs = [r for r in records if r["variant"] == variant]
        row = {"variant": variant, "seeds": len(runs),
               "test_mse_median": float(np.median([r["test_mse"] for r in runs]))}
        if mean_image is not None:
            limit = COLLAPSED * mean_image["mse"]
            trained = [r["test_mse"] for r in runs if r["test_mse"] <= limit]
            row["collapsed"] = len(runs) - len(trained)
            row["test_mse_trained_mean"] = float(np.mean(trained)) if trained else None
        for key in SUMMARIZED:
            if key in runs[0]:
                values = np.array([r[key] for r in runs], dtype=np.float64)
                row[f"{key}_mean"] = float(values.mean())
                row[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else None
        summary.append(row)
    return sorted(summary, key=lambda r: r["test_mse_median"])


def mean_image_errors(x_train: np.ndarray, x_test: np.ndarray) -> dict[str, float]:
    """MSE and BCE per pixel of the mean training image taken as every test image's
    reconstruction: what a decoder that ignores its code achieves."""
    mean = x_train.astype(np.float64).mean(axis=0, keepdims=True) / 255.0
    x = x_test.astype(np.float64) / 255.0
    m = metrics.reconstruction(x, np.broadcast_to(mean, x.shape))
    return {"mse": m["mse"], "bce": m["bce"], "sse_per_image": m["sse_per_image"]}


def summary_table(summary: list[dict]) -> list[dict]:
    def pm(row, key, fmt):
        mean, std = row[f"{key}_mean"], row[f"{key}_std"]
        return format(mean, fmt) + ("" if std is None else " ± " + format(std, fmt))

    return [{"rank": i + 1, "variant": r["variant"], "seeds": r["seeds"],
             "test MSE median": format(r["test_mse_median"], ".5f"),
             "test MSE": pm(r, "test_mse", ".5f"),
             **({"collapsed seeds": r["collapsed"]} if "collapsed" in r else {}),
             "SSE / image": pm(r, "test_sse_per_image", ".3f"),
             "SSIM": pm(r, "test_ssim", ".4f"), "BCE": pm(r, "test_bce", ".4f"),
             "parameters": int(r["parameters_mean"]),
             "s / epoch": pm(r, "seconds_per_epoch", ".2f"),
             **({"MSE without indices": pm(r, "no_indices_mse", ".5f")}
                if "no_indices_mse_mean" in r else {})}
            for i, r in enumerate(summary)]


def reference_text(summary: list[dict], settings: dict) -> str:
    """Which of our losses the seed report's 0.086 can be, argued from this run's numbers."""
    ref, base = REFERENCE["error"], settings["mean_image"]
    unpool = next((r for r in summary if r["variant"] == REFERENCE["variant"]), None)
    mse = (f"It cannot be a per-pixel MSE: the mean training image, which ignores the code, "
           f"already scores {base['mse']:.4f} here." if base["mse"] < ref else
           f"A per-pixel MSE that high would be barely better than the mean training image "
           f"({base['mse']:.4f} here).")
    ours = "" if unpool is None else (
        f" Here maxpool-unpool reaches a test BCE of {unpool['test_bce_mean']:.4f}, a test MSE "
        f"of {unpool['test_mse_mean']:.5f} and {unpool['test_sse_per_image_mean']:.2f} squared "
        "error per image.")
    return (
        f"The seed report gives an error of {ref} for unpooling after {REFERENCE['epochs']} "
        f"epochs at batch {REFERENCE['batch_size']}, without naming the loss. {mse} Nor is "
        "it a squared error per image, which counts every pixel (the mean image: "
        f"{base['sse_per_image']:.1f}). It is on the scale of the per-pixel binary "
        "cross-entropy (Keras' binary_crossentropy, the usual loss of that exercise, whose "
        "floor is the entropy of the grey pixels, not 0; the mean image: "
        f"{base['bce']:.4f}), so we read it as a BCE, probably the loss Keras printed at the "
        "last epoch. That reading is ours: the seed report does not say." + ours)


def unpool_text(records: list[dict], settings: dict) -> str:
    n = next(r["indices_per_image"] for r in records if "indices_per_image" in r)
    return (
        "With its indices, the unpooling decoder gets more than the code: besides the "
        f"{settings['code_size']} numbers of the code, the position of every pooled maximum, "
        f"{n:,} per image, each one of up to 4 places (up to {2 * n:,} bits), a channel around "
        "the bottleneck. Its test error with the indices is therefore not the error of the "
        "code alone; the error without them is. A sampled code has no encoder behind it, so "
        "no indices either: decode(z) then puts each value at the top-left of its 2x2 window "
        "(zeros elsewhere) and the convs fill in. With no true image for a sampled code, the "
        "cost of missing indices is measured where the answer is known: 'no_indices_mse' and "
        "'no_indices_ssim' decode the test images' own codes without the indices and compare "
        "with the images (against 'test_mse' with them); 'index_gap_mse' is the MSE between "
        "the two decodings of each test code, how much of the output the indices decide. "
        "'sampled_index_gap_mse' is the same gap for codes drawn from a Gaussian fitted to the "
        "test codes (Ledoit-Wolf covariance), each given the indices of its nearest test code, "
        "the best indices a sampled code could borrow.")
