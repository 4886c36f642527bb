"""Super-resolution study: what does upscaling restore for a downstream classifier?

MNIST / Fashion-MNIST test images are shrunk by 2 and by 4 (antialiased bicubic), then brought
back to 28x28 by (a) bicubic interpolation, (b) an ESPCN trained on the shrunk training
images, and (c) a `conv` autoencoder trained to map the bicubic-upscaled image to the original
(the autoencoder family used as an upscaler). A reference CNN trained on the original
training images classifies the originals and each restoration; the table puts its accuracy
beside PSNR and SSIM (on [0, 1] pixels, whole 28x28 image).

Resizing uses torch's antialiased bicubic (``F.interpolate(..., antialias=True)``, a port of
Pillow's filter; `aelab.corruptions.resize`), so degradation and baseline run on whole
batches. Each conv autoencoder is an ordinary run folder ``runs/<dataset>-x<scale>`` (the
``downscale`` corruption, the first `train_limit` training images); the reference CNN and the
ESPCNs are trained while scoring, each from `seed`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..corruptions.resize import bicubic_up, shrink
from ..data import load_dataset
from ..evaluate.metrics import reconstruction
from ..executors import PlannedRun
from ..files import read_json
from ..infer import batched, reconstruct
from ..models.classifier import create_classifier
from ..report.figures import save_figure
from ..runs import load_run
from ..sr.train import train_espcn_whole
from ..train import seeded
from ..train.classify import accuracy, train_classifier
from ..train.loop import memory_format
from . import STUDIES
from ._shared import one_per_class, rows_figure
from .base import Results, Study, StudyOptions

CONV_AE = {"name": "conv", "latent_dim": 64, "channels": [32, 64]}


@dataclass(frozen=True)
class Options(StudyOptions):
    """`datasets` (mnist, fashion_mnist; ``--dataset`` runs one), `scales` ([2, 4]),
    `train_limit` training images (the first; 20000, quick 600), `test_limit` test images
    (5000; quick 300), `classifier_epochs` (4), `espcn_epochs` (8), `conv_epochs` (8; all
    three 1 with --quick), `seed` (0: every model's initial weights and training order)."""

    datasets: tuple[str, ...] = ("mnist", "fashion_mnist")
    scales: tuple[int, ...] = (2, 4)
    train_limit: int = 20000
    test_limit: int = 5000
    classifier_epochs: int = 4
    espcn_epochs: int = 8
    conv_epochs: int = 8
    seed: int = 0
    QUICK = {"train_limit": 600, "test_limit": 300, "classifier_epochs": 1, "espcn_epochs": 1,
             "conv_epochs": 1}


@STUDIES.register("super-resolution")
class SuperResolution(Study):
    """Accuracy of a reference CNN on original, shrunk-then-bicubic, shrunk-then-ESPCN and
    shrunk-then-conv-AE test images, beside PSNR/SSIM, for each dataset and scale."""

    Options = Options
    dataset_full = dataset_quick = ""         # every dataset of the `datasets` option

    def plan(self) -> list[PlannedRun]:
        o = self.opts
        self.names = [self.dataset] if self.dataset else list(o.datasets)
        self.dataset = ",".join(self.names)
        return [PlannedRun(f"{name}-x{scale}", RunConfig.from_dict({
            "name": f"sr-conv-{name}-x{scale}",
            "data": {"name": name, "limit": o.train_limit, "subset": "first",
                     "test_limit": o.test_limit, "val_fraction": 0.0},
            "model": CONV_AE, "loss": {"name": "mse"},
            "corruption": [{"name": "downscale", "scale": scale}],
            "train": {"epochs": o.conv_epochs, "batch_size": 128, "lr": 1e-3, "seed": o.seed,
                      "device": "cpu"}}))
            for name in self.names for scale in o.scales]

    def score(self, runs: dict[str, Path]) -> Results:
        o = self.opts
        records, self.blocks = [], []
        # one step per model trained here: the classifier, then an ESPCN per scale
        bar = self.progress(total=len(self.names) * (1 + len(o.scales)),
                            desc="super-resolution") if self.progress is not None else None
        for name in self.names:
            records += self._dataset(name, runs, bar)
        if bar is not None:
            bar.close()
        return Results(records, settings={
            "quick": self.quick, "classifier": "cnn (32, 64), shift 1",
            "espcn": "5-3-3 (64, 32) tanh, grey",
            "conv_ae": "conv latent 64, channels [32, 64], input bicubic-upscaled"})

    def _dataset(self, name: str, runs: dict[str, Path], bar) -> list[dict]:
        o = self.opts

        def stage(what: str) -> None:
            if bar is not None:
                bar.set_postfix_str(what)

        def done() -> None:
            if bar is not None:
                bar.update()

        data = load_dataset(name, progress=self.progress)
        x_tr, y_tr = data.x_train[:o.train_limit], data.y_train[:o.train_limit]
        x_te, y_te = data.x_test[:o.test_limit], data.y_test[:o.test_limit]
        t0 = time.perf_counter()
        stage(f"{name}: reference CNN")
        with seeded(o.seed):
            clf = create_classifier("cnn", data.image_shape, len(data.class_names))
        train_classifier(clf, x_tr, y_tr, epochs=o.classifier_epochs, device="cpu", shift=1,
                         seed=o.seed)
        clf_seconds = time.perf_counter() - t0
        done()
        clean = _float(x_te)
        records = [{"dataset": name, "scale": 1, "method": "original",
                    "accuracy": accuracy(clf, clean, y_te), "psnr_db": None, "ssim": None,
                    "train_seconds": clf_seconds}]
        picks = one_per_class(y_te, len(data.class_names))
        for scale in o.scales:
            size = tuple(clean.shape[-2:])
            low = shrink(clean, scale)
            t0 = time.perf_counter()
            stage(f"{name} x{scale}: ESPCN")
            espcn = train_espcn_whole(_float(x_tr), scale, epochs=o.espcn_epochs, seed=o.seed)
            espcn_s = time.perf_counter() - t0
            done()
            run = runs[f"{name}-x{scale}"]
            _, conv = load_run(run)
            # in the layout it trained in (fit's channels_last for conv models on the CPU):
            # oneDNN's kernels differ by layout in the last bit
            conv = conv.to(memory_format=memory_format(conv, torch.device("cpu")))
            conv_s = read_json(run / "metrics.json", "run metrics")["train_seconds"]
            bic = bicubic_up(low, size)
            restored = {"bicubic": (bic, 0.0), "espcn": (upscale_espcn(espcn, low, size), espcn_s),
                        "conv_ae": (torch.from_numpy(reconstruct(conv, bic, batch_size=1024)),
                                   conv_s)}
            for method, (x_hat, seconds) in restored.items():
                m = reconstruction(clean.numpy(), x_hat.numpy())
                records.append({"dataset": name, "scale": scale, "method": method,
                                "accuracy": accuracy(clf, x_hat, y_te), "psnr_db": m["psnr_db"],
                                "ssim": m["ssim"], "train_seconds": seconds})
            fig = rows_figure({"original": clean[picks].numpy(), f"bicubic x{scale}":
                               restored["bicubic"][0][picks].numpy(),
                               f"ESPCN x{scale}": restored["espcn"][0][picks].numpy(),
                               f"conv AE x{scale}": restored["conv_ae"][0][picks].numpy()})
            self.blocks.append(save_figure(fig, self.fig_dir / f"{name}_x{scale}.png"))
        return records

    def report(self, results: Results):
        o = self.opts
        text = (f"Reference CNN trained on {o.train_limit} original training images; "
                f"{o.test_limit} test images per dataset. Upscalers trained on the same "
                f"{o.train_limit} training images. PSNR/SSIM on [0, 1] pixels, whole image.")
        return [("Accuracy and fidelity", [text, results.records]), ("Examples", self.blocks)]

    def title(self) -> str:
        return "Super-resolution for a downstream classifier"


def _float(x_uint8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x_uint8)).float() / 255.0


def upscale_espcn(model, x_lr: torch.Tensor, size) -> torch.Tensor:
    out = batched(model, x_lr, model=model, batch_size=1024)
    if out.shape[-2:] != tuple(size):   # 28 = 4 * 7 exactly; pad for sizes that do not divide
        out = F.interpolate(out, size=size, mode="bicubic", align_corners=False)
    return out.clamp(0, 1)
