"""Sparsity: an over-complete autoencoder with L1 activity sparsity on its code.

One hidden ReLU layer wider than the image (1024 units for 784 pixels) is the code; the
loss adds ``weight * sum_units |z|`` (mean over the batch, Keras' activity-regularizer
convention) for weights 1e-6, 1e-4, 1e-3 and none. Reported: test reconstruction error, mean
code activation, the fraction of near-zero code values and of units never active on the test
set, and the learned encoder filters (rows of the first weight matrix, as images) of each
model beside those of the plain one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data import load_dataset
from ..errors import ConfigError
from ..report.figures import image_grid, save_figure
from ..report.page import write_html_page
from ..train import Batches
from . import STUDIES
from ._shared import (
    ae_reconstruct,
    one_per_class,
    rows_figure,
    study_command,
    train_ae,
    write_results,
)

DEFAULTS = {"weights": [0.0, 1e-6, 1e-4, 1e-3], "code_size": 1024, "epochs": 10,
            "limit": 20000, "loss": "bce", "batch_size": 128, "seed": 0, "threshold": 0.01}
QUICK = {"code_size": 96, "epochs": 2, "limit": 300, "test_limit": 200}
N_FILTERS = 64


@STUDIES.register("sparsity")
def sparsity(out_dir: Path, *, quick: bool = False, dataset: str | None = None, progress=None,
             callbacks=(), weights: list | None = None, code_size: int | None = None,
             epochs: int | None = None, limit: int | None = None, loss: str = "bce",
             batch_size: int = 128, seed: int = 0, threshold: float = 0.01) -> Path:
    """Train the over-complete autoencoder at each L1 weight; return the report.

    Options: `weights` L1 activity weights ([0, 1e-6, 1e-4, 1e-3]; 0 is the plain model);
    `code_size` (1024; quick 96); `epochs` (10; quick 2); `limit` training images (20000;
    quick 300); `loss` (bce); `batch_size`; `seed`; `threshold` below which a code value
    counts as near zero (0.01).
    """
    base = {**DEFAULTS, **(QUICK if quick else {})}
    name = dataset or ("digits" if quick else "mnist")
    opts = {"weights": [float(w) for w in (weights if weights is not None else base["weights"])],
            "code_size": code_size or base["code_size"], "epochs": epochs or base["epochs"],
            "limit": limit or base["limit"], "loss": loss, "batch_size": batch_size,
            "seed": seed, "threshold": threshold}
    if not opts["weights"] or any(w < 0 for w in opts["weights"]):
        raise ConfigError(f"weights: give non-negative L1 weights, e.g. [0, 1e-4]; got "
                          f"{opts['weights']}.")
    if 0.0 not in opts["weights"]:
        opts["weights"] = [0.0, *opts["weights"]]   # the plain model is the reference
    out_dir = Path(out_dir)
    data = load_dataset(name, progress=progress)
    test_limit = base.get("test_limit")
    x_test, y_test = data.x_test[:test_limit], data.y_test[:test_limit]
    fig_dir = out_dir / "figures"
    records, filters, recs = [], [], {}
    for w in opts["weights"]:
        label = "none" if w == 0 else f"l1 {w:g}"
        model = {"name": "dense", "latent_dim": opts["code_size"], "hidden": [],
                 "code_activation": "relu"}
        run, net, m = train_ae(out_dir, "plain" if w == 0 else f"l1-{w:g}", dataset=name,
                               model=model, epochs=opts["epochs"], limit=opts["limit"],
                               test_limit=test_limit, loss={"name": opts["loss"], "l1_code": w},
                               batch_size=opts["batch_size"], seed=opts["seed"],
                               progress=progress, callbacks=callbacks)
        z = codes(net, x_test)
        records.append({"l1_weight": w, **code_stats(z, opts["threshold"]),
                        "test_mse": m["test_mse"], "test_sse_per_image": m["test_sse_per_image"],
                        "train_seconds": m["train_seconds"], "epochs": m["epochs"],
                        "n_train": m["n_train"], "n_test": m["n_test"]})
        recs[label] = ae_reconstruct(net, x_test)
        filters.append(save_figure(_filter_figure(net, data.image_shape),
                                   fig_dir / f"filters_{label.replace(' ', '_')}.png"))
    write_results(out_dir, study="sparsity", dataset=name,
                  command=study_command("sparsity", dataset, quick, opts, base),
                  settings=opts, records=records)
    idx = one_per_class(y_test, len(data.class_names))
    rec_png = save_figure(rows_figure({"original": x_test[idx] / 255.0}
                                      | {k: v[idx] for k, v in recs.items()}),
                          fig_dir / "reconstructions.png")
    text = (f"Dataset {name}: {records[0]['n_train']} training images, {len(x_test)} test "
            f"images. Encoder: one Linear layer to {opts['code_size']} ReLU units (the code, "
            f"over-complete for {int(np.prod(data.image_shape))} pixels); decoder: one Linear "
            f"layer and a sigmoid. {opts['epochs']} epochs, {opts['loss']} loss plus weight x "
            "sum|z| (mean over the batch), Adam 1e-3, batch "
            f"{opts['batch_size']}. Near zero: a code value below {opts['threshold']}; dead: a "
            "unit that is near zero on every test image.")
    return write_html_page(out_dir / "report.html", f"L1 activity sparsity on {name}", [
        ("Setting", [text]),
        ("Error and code statistics", [records]),
        (f"Encoder filters (the {N_FILTERS} units with the largest weights; plain first)",
         filters),
        ("Reconstructions, side by side (one test image per class)", [rec_png]),
    ], subtitle=f"L1 weights {opts['weights']}")


@torch.no_grad()
def codes(model, x_uint8: np.ndarray) -> np.ndarray:
    """Codes (N, code_size) of uint8 images, in eval mode."""
    model.eval()
    return torch.cat([model.encode(x).flatten(1).cpu()
                      for x, _ in Batches(x_uint8, batch_size=512)]).numpy()


def code_stats(z: np.ndarray, threshold: float) -> dict[str, float]:
    """Mean activation, fraction of near-zero values, fraction of dead units, and the mean
    number of active units per image."""
    active = np.abs(z) >= threshold
    return {"mean_activation": float(np.abs(z).mean()),
            "near_zero_fraction": float(1.0 - active.mean()),
            "dead_unit_fraction": float((~active.any(axis=0)).mean()),
            "active_units_per_image": float(active.sum(axis=1).mean())}


def _filter_figure(model, image_shape):
    """The encoder's first-layer weights of the strongest units, each scaled to [0, 1]."""
    linear = next(m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear))
    w = linear.weight.detach().cpu().numpy()                     # (units, pixels)
    top = np.argsort(-np.linalg.norm(w, axis=1))[:N_FILTERS]
    w = w[top]
    lo, hi = w.min(axis=1, keepdims=True), w.max(axis=1, keepdims=True)
    images = ((w - lo) / np.where(hi > lo, hi - lo, 1.0)).reshape(len(w), *image_shape)
    return image_grid(images, nrow=16)
