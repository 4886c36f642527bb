"""Hidden sizes: how wide must one hidden layer be, and what does depth buy?

The one-hidden-layer autoencoder fc(x) -> fc(784) (ReLU code of size x, sigmoid output) for
x in 64, 128, 256, and the deep stack 784-512-256-128-30 (ReLU, linear 30-dim code), all
trained the same way. Reported: training curves on one plot, test errors, parameters and
training time, and reconstructions of the same test images side by side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..data import load_dataset
from ..errors import ConfigError
from ..report.figures import save_figure
from ..report.html import read_history
from ..report.page import write_html_page
from . import STUDIES
from ._shared import (
    ae_reconstruct,
    one_per_class,
    rows_figure,
    study_command,
    train_ae,
    write_results,
)

DEFAULTS = {"sizes": [64, 128, 256], "deep_hidden": [512, 256, 128], "deep_latent": 30,
            "epochs": 10, "limit": None, "loss": "bce", "batch_size": 128, "seed": 0}
QUICK = {"sizes": [16, 32], "deep_hidden": [32, 16], "deep_latent": 8, "epochs": 2,
         "limit": 300, "test_limit": 200}


@STUDIES.register("hidden-sizes")
def hidden_sizes(out_dir: Path, *, quick: bool = False, dataset: str | None = None,
                 progress=None, callbacks=(), sizes: list | None = None,
                 deep_hidden: list | None = None, deep_latent: int | None = None,
                 epochs: int | None = None, limit: int | None = None, loss: str = "bce",
                 batch_size: int = 128, seed: int = 0) -> Path:
    """Train fc(x)-fc(pixels) for each x in `sizes` and the deep stack; return the report.

    Options: `sizes` ([64, 128, 256]; quick [16, 32]); `deep_hidden` ([512, 256, 128]) and
    `deep_latent` (30) of the deep stack; `epochs` (10; quick 2); `limit` training images
    (all; quick 300); `loss` (bce); `batch_size` (128); `seed` (0).
    """
    base = {**DEFAULTS, **(QUICK if quick else {})}
    name = dataset or ("digits" if quick else "mnist")
    opts = {"sizes": list(sizes or base["sizes"]),
            "deep_hidden": list(deep_hidden or base["deep_hidden"]),
            "deep_latent": deep_latent or base["deep_latent"], "epochs": epochs or base["epochs"],
            "limit": limit or base["limit"], "loss": loss, "batch_size": batch_size, "seed": seed}
    if not all(isinstance(s, int) and s >= 1 for s in opts["sizes"]):
        raise ConfigError(f"sizes: each hidden size is a positive integer; got {opts['sizes']}.")
    out_dir = Path(out_dir)
    data = load_dataset(name, progress=progress)
    test_limit = base.get("test_limit")
    x_test, y_test = data.x_test[:test_limit], data.y_test[:test_limit]
    n_pixels = int(np.prod(data.image_shape))
    models = {f"fc({s})-fc({n_pixels})": {"name": "dense", "latent_dim": s, "hidden": [],
                                          "code_activation": "relu"} for s in opts["sizes"]}
    deep = "-".join(map(str, [n_pixels, *opts["deep_hidden"], opts["deep_latent"]]))
    models[deep] = {"name": "dense", "latent_dim": opts["deep_latent"],
                    "hidden": opts["deep_hidden"]}
    records, curves, recs = [], {}, {}
    for label, model in models.items():
        run, net, m = train_ae(out_dir, label.replace("(", "").replace(")", ""), dataset=name,
                               model=model, epochs=opts["epochs"], limit=opts["limit"],
                               test_limit=test_limit, loss={"name": opts["loss"]},
                               batch_size=opts["batch_size"], seed=opts["seed"],
                               progress=progress, callbacks=callbacks)
        curves[label] = read_history(run / "history.csv")
        recs[label] = ae_reconstruct(net, x_test)
        records.append({"model": label, "code_size": model["latent_dim"],
                        "test_mse": m["test_mse"], "test_sse_per_image": m["test_sse_per_image"],
                        "test_psnr_db": m["test_psnr_db"], "test_ssim": m["test_ssim"],
                        "final_train_recon": curves[label][-1]["train_recon"],
                        "parameters": m["parameters"], "train_seconds": m["train_seconds"],
                        "epochs": m["epochs"], "n_train": m["n_train"], "n_test": m["n_test"]})
    write_results(out_dir, study="hidden-sizes", dataset=name,
                  command=study_command("hidden-sizes", dataset, quick, opts, base),
                  settings=opts, records=records)
    fig_dir = out_dir / "figures"
    idx = one_per_class(y_test, len(data.class_names))
    rows = {"original": x_test[idx] / 255.0} | {k: v[idx] for k, v in recs.items()}
    curve_png = save_figure(_curves(curves, opts["loss"]), fig_dir / "training_curves.png")
    rec_png = save_figure(rows_figure(rows), fig_dir / "reconstructions.png")
    text = (f"Dataset {name}: {records[0]['n_train']} training images, {len(x_test)} test images. "
            f"Every model: {opts['epochs']} epochs, {opts['loss']} loss, Adam 1e-3, batch "
            f"{opts['batch_size']}, seed {opts['seed']}. fc(x) is one ReLU layer of x units (the "
            "code); the output layer is a sigmoid. The deep stack has ReLU hidden layers and a "
            "linear code. Errors are on the test set, pixels in [0, 1].")
    return write_html_page(out_dir / "report.html", f"Hidden sizes on {name}", [
        ("Setting", [text]),
        ("Test errors", [records]),
        ("Training curves", [curve_png]),
        ("Reconstructions, side by side (one test image per class)", [rec_png]),
    ], subtitle=f"one hidden layer of {opts['sizes']} vs {deep}")


def _curves(curves: dict[str, list[dict]], loss: str) -> Figure:
    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for label, history in curves.items():
        ax.plot([r["epoch"] for r in history], [r["train_recon"] for r in history], marker="o",
                markersize=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"training {loss} (per pixel)")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig
