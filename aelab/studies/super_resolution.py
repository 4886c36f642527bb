"""Super-resolution study: what does upscaling restore for a downstream classifier?

MNIST / Fashion-MNIST test images are shrunk by 2 and by 4 (antialiased bicubic), then brought
back to 28x28 by (a) bicubic interpolation, (b) an ESPCN trained on the shrunk training
images, and (c) a `conv` autoencoder trained to map the bicubic-upscaled image to the original
(the autoencoder family used as an upscaler). A reference CNN trained on the original
training images classifies the originals and each restoration; the table puts its accuracy
beside PSNR and SSIM (on [0, 1] pixels, whole 28x28 image).

Resizing uses torch's antialiased bicubic (``F.interpolate(..., antialias=True)``, a port of
Pillow's filter), so degradation and baseline run on whole batches.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import LossConfig, TrainConfig
from ..data import load_dataset
from ..evaluate.metrics import reconstruction
from ..losses import build_objective
from ..models import create_model
from ..models.classifier import create_classifier
from ..models.espcn import create_upscaler
from ..report.figures import save_figure
from ..report.page import write_html_page
from ..train import Batches, fit, seeded
from ..train.classify import accuracy, train_classifier
from . import STUDIES
from ._shared import one_per_class, rows_figure, study_command, write_results


def shrink(x: torch.Tensor, scale: int) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] -> antialiased bicubic shrink by `scale`."""
    h, w = x.shape[-2:]
    return F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True,
                         align_corners=False)


def bicubic_up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def _float(x_uint8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x_uint8)).float() / 255.0


def train_espcn_arrays(x_hr: torch.Tensor, scale: int, *, epochs: int, batch_size: int = 128,
                       lr: float = 1e-3, seed: int = 0) -> torch.nn.Module:
    """An ESPCN (grey) fit on whole small images: LR = shrink(HR). The border padding is the
    same in training and use, so no interior crop is needed here."""
    with seeded(seed):
        # replicate: digits shrunk to 4x4 are smaller than the mirror padding's 4-pixel margin
        model = create_upscaler("espcn", scale=scale, color="grey", padding="replicate")
    x_lr = shrink(x_hr, scale)
    last = list(model.last_layer.parameters())
    rest = [p for p in model.parameters() if all(p is not q for q in last)]
    opt = torch.optim.Adam([{"params": rest}, {"params": last, "lr": lr * 0.1}], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * -(-len(x_hr) // batch_size))
    gen = torch.Generator().manual_seed(seed)
    size = x_hr.shape[-2:]
    for _ in range(epochs):
        for idx in torch.randperm(len(x_hr), generator=gen).split(batch_size):
            pred = model(x_lr[idx])[..., :size[0], :size[1]]
            loss = F.mse_loss(pred, x_hr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def upscale_espcn(model, x_lr: torch.Tensor, size) -> torch.Tensor:
    with torch.no_grad():
        out = torch.cat([model(b) for b in x_lr.split(1024)])
    if out.shape[-2:] != tuple(size):   # 28 = 4 * 7 exactly; pad for sizes that do not divide
        out = F.interpolate(out, size=size, mode="bicubic", align_corners=False)
    return out.clamp(0, 1)


def train_conv_upscaler(x_uint8: np.ndarray, scale: int, *, epochs: int, seed: int = 0,
                        callbacks=()):
    """A `conv` autoencoder trained to restore bicubic(shrink(x)) to x (a corruption)."""
    with seeded(seed):
        model = create_model("conv", x_uint8.shape[1:], latent_dim=64, channels=[32, 64])
    size = tuple(x_uint8.shape[-2:])

    def corrupt(x, generator):
        return bicubic_up(shrink(x, scale), size)

    fit(model, build_objective(LossConfig(name="mse"), model),
        Batches(x_uint8, batch_size=128, shuffle=True, seed=seed), None,
        TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, seed=seed, device="cpu"),
        device=torch.device("cpu"), corrupt=corrupt, callbacks=callbacks)
    return model.eval()


def upscale_conv(model, x_bicubic: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([torch.sigmoid(model(b).x_logits) for b in x_bicubic.split(1024)])


@STUDIES.register("super-resolution")
def super_resolution(out_dir: Path, *, quick: bool = False, dataset: str | None = None,
                     progress=None, callbacks=(), datasets: list = ("mnist", "fashion_mnist"),
                     scales: list = (2, 4), train_limit: int = 20000, test_limit: int = 5000,
                     classifier_epochs: int = 4, espcn_epochs: int = 8,
                     conv_epochs: int = 8, seed: int = 0) -> Path:
    """Accuracy of a reference CNN on original, shrunk-then-bicubic, shrunk-then-ESPCN and
    shrunk-then-conv-AE test images, beside PSNR/SSIM, for each dataset and scale. Every
    model's initial weights and training order come from `seed`."""
    defaults = {"datasets": ["mnist", "fashion_mnist"], "scales": [2, 4], "train_limit": 20000,
                "test_limit": 5000, "classifier_epochs": 4, "espcn_epochs": 8,
                "conv_epochs": 8, "seed": 0}
    options = {"datasets": list(datasets), "scales": list(scales), "train_limit": train_limit,
               "test_limit": test_limit, "classifier_epochs": classifier_epochs,
               "espcn_epochs": espcn_epochs, "conv_epochs": conv_epochs, "seed": seed}
    names = [dataset] if dataset else list(datasets)
    if quick:
        train_limit, test_limit = 600, 300
        classifier_epochs = espcn_epochs = conv_epochs = 1
    records, blocks = [], []
    # one step per trained model: the classifier, then an ESPCN and a conv AE per scale
    stages = progress(total=len(names) * (1 + 2 * len(scales)), desc="super-resolution") \
        if progress is not None else None

    def stage(what: str) -> None:
        if stages is not None:
            stages.set_postfix_str(what)

    def done() -> None:
        if stages is not None:
            stages.update()

    for name in names:
        data = load_dataset(name, progress=progress)
        x_tr, y_tr = data.x_train[:train_limit], data.y_train[:train_limit]
        x_te, y_te = data.x_test[:test_limit], data.y_test[:test_limit]
        t0 = time.perf_counter()
        stage(f"{name}: reference CNN")
        with seeded(seed):
            clf = create_classifier("cnn", data.image_shape, len(data.class_names))
        train_classifier(clf, x_tr, y_tr, epochs=classifier_epochs, device="cpu", shift=1,
                         seed=seed)
        clf_seconds = time.perf_counter() - t0
        done()
        clean = _float(x_te)
        records.append({"dataset": name, "scale": 1, "method": "original",
                        "accuracy": accuracy(clf, clean, y_te), "psnr_db": None, "ssim": None,
                        "train_seconds": clf_seconds})
        picks = one_per_class(y_te, len(data.class_names))
        for scale in scales:
            size = tuple(clean.shape[-2:])
            low = shrink(clean, scale)
            t0 = time.perf_counter()
            stage(f"{name} x{scale}: ESPCN")
            espcn = train_espcn_arrays(_float(x_tr), scale, epochs=espcn_epochs, seed=seed)
            espcn_s = time.perf_counter() - t0
            done()
            t0 = time.perf_counter()
            stage(f"{name} x{scale}: conv autoencoder")
            conv = train_conv_upscaler(x_tr, scale, epochs=conv_epochs, seed=seed,
                                       callbacks=callbacks)
            conv_s = time.perf_counter() - t0
            done()
            bic = bicubic_up(low, size)
            restored = {"bicubic": (bic, 0.0), "espcn": (upscale_espcn(espcn, low, size), espcn_s),
                        "conv_ae": (upscale_conv(conv, bic), conv_s)}
            for method, (x_hat, seconds) in restored.items():
                m = reconstruction(clean.numpy(), x_hat.numpy())
                records.append({"dataset": name, "scale": scale, "method": method,
                                "accuracy": accuracy(clf, x_hat, y_te), "psnr_db": m["psnr_db"],
                                "ssim": m["ssim"], "train_seconds": seconds})
            fig = rows_figure({"original": clean[picks].numpy(), f"bicubic x{scale}":
                               restored["bicubic"][0][picks].numpy(),
                               f"ESPCN x{scale}": restored["espcn"][0][picks].numpy(),
                               f"conv AE x{scale}": restored["conv_ae"][0][picks].numpy()})
            blocks.append(save_figure(fig, out_dir / "figures" / f"{name}_x{scale}.png"))
    if stages is not None:
        stages.close()
    settings = {**options, "quick": quick, "train_limit": train_limit, "test_limit": test_limit,
                "classifier": "cnn (32, 64), shift 1", "espcn": "5-3-3 (64, 32) tanh, grey",
                "conv_ae": "conv latent 64, channels [32, 64], input bicubic-upscaled"}
    command = study_command("super-resolution", dataset, quick, options, defaults)
    write_results(out_dir, study="super-resolution", dataset=",".join(names), command=command,
                  settings=settings, records=records)
    text = (f"Reference CNN trained on {train_limit} original training images; "
            f"{test_limit} test images per dataset. Upscalers trained on the same "
            f"{train_limit} training images. PSNR/SSIM on [0, 1] pixels, whole image.")
    return write_html_page(out_dir / "report.html", "Super-resolution for a downstream "
                           "classifier", [("Accuracy and fidelity", [text, records]),
                                          ("Examples", blocks)], subtitle=command)
