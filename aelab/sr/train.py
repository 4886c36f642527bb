"""Train an ESPCN on high-resolution photos and write a run folder.

Training data: random ``patch x patch`` low-resolution crops (and the aligned ``r*patch`` HR
crops) drawn from every training image at every step, flipped and rotated at random; the LR
images are made once per image by the configured degradation. The network runs unpadded on the
crop (the paper's valid convolutions), so the loss covers the crop's interior: the HR pixels
over the LR crop minus its ``halo`` border, 17r x 17r for the default 25-pixel crop, as the
paper's sub-images. At test time the model mirrors the image border instead. A few training
images are held out and their full-image PSNR on Y picks the checkpoint; the test sets (Set5,
Set14) are never seen here.

Optimiser: Adam with a cosine decay from `lr` to `lr_final` (after a short linear warm-up)
and a `last_layer_lr_scale` (0.1) times smaller rate for the output layer, after the paper's
schedule (0.01 -> 0.0001, last layer 10x smaller). A constant rate leaves about 0.5 dB on
the table: the last fraction of a dB comes from the small-rate end of the schedule.

A run can be split over several jobs (``max_seconds`` stops one cleanly, ``resume=True``
continues it): the last weights, the optimizer state and the sampler's random state are
saved, so a resumed run draws the same patches and follows the same schedule, and
``train_seconds`` is the sum of the jobs' training times.

A run folder holds config.json, env.json, model.safetensors (the best checkpoint),
last.safetensors + optimizer.safetensors (to resume), history.csv and metrics.json.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import _cpu
from ..corruptions.resize import shrink
from ..errors import ConfigError
from ..files import folder_lock, read_json, remove_stale_temps, write_json
from ..models.espcn import create_upscaler, load_upscaler, save_upscaler
from ..precision import resolve_precision
from ..provenance import provenance
from ..report.html import read_history
from ..train.checkpoint import load_optimizer, save_optimizer
from ..train.loop import write_history
from ..train.seed import resolve_device, seeded
from ..train.step import Callback, Stepper
from .datasets import SRImage, load_images
from .evaluate import score_image
from .images import to_planes
from .resize import DEGRADATIONS, downscale, modcrop

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SRConfig:
    """Everything a super-resolution run depends on. `from_dict` rejects unknown keys."""

    scale: int = 3
    train_data: str = "T91"          # a set name or a folder of photos
    val_images: int = 6              # held out from train_data (every k-th image) for checkpoints
    degradation: str = "bicubic"     # or "blur" (Gaussian blur + subsample, the paper's)
    color: str = "y"
    features: tuple[int, ...] = (64, 32)
    kernels: tuple[int, ...] = (5, 3, 3)
    patch: int = 25                  # LR crop side; the loss uses the inner patch - 2*halo
    #                                  (25 - 2*4 = 17: the paper's 17r x 17r HR sub-images)
    batch_size: int = 32
    steps: int = 20000
    lr: float = 1e-3
    lr_final: float = 1e-5
    warmup_steps: int = 0            # linear warm-up from lr/100 before the cosine decay
    last_layer_lr_scale: float = 0.1
    eval_every: int = 1000
    channels_last: bool = False      # NHWC activations (faster convolutions on some CPUs)
    device: str = "auto"             # auto (CUDA when there is one), cpu, cuda, cuda:N
    precision: str = "fp32"          # fp32, bf16 (autocast; weights and loss fp32), auto
    seed: int = 0
    notes: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SRConfig:
        import difflib

        names = [f.name for f in fields(cls)]
        for key in d:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"sr.{key}: unknown option.{hint} Options: {', '.join(names)}.")
        cfg = cls(**{k: _typed(k, v, getattr(cls, k, None)) for k, v in d.items()})
        cfg.check()
        return cfg

    def check(self) -> None:
        from ..config import check_device
        from ..precision import PRECISIONS

        check_device(self.device, "sr.device")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"sr.precision must be one of {', '.join(PRECISIONS)}; got "
                              f"{self.precision!r}.")
        if self.scale not in (2, 3, 4):
            raise ConfigError(f"sr.scale must be 2, 3 or 4; got {self.scale!r}.")
        if self.degradation not in DEGRADATIONS:
            raise ConfigError(f"sr.degradation must be one of {', '.join(DEGRADATIONS)}; got "
                              f"{self.degradation!r}.")
        halo = sum(k // 2 for k in self.kernels)
        if self.patch <= 2 * halo:
            raise ConfigError(f"sr.patch {self.patch} leaves no interior for the loss: it must "
                              f"exceed twice the receptive-field radius ({2 * halo}).")
        if not 0 <= self.warmup_steps < self.steps:
            raise ConfigError(f"sr.warmup_steps must be in [0, steps={self.steps}); got "
                              f"{self.warmup_steps!r}.")
        for name in ("batch_size", "steps", "eval_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"sr.{name} must be a positive integer; got "
                                  f"{getattr(self, name)!r}.")
        if not 0 < self.lr_final <= self.lr:
            raise ConfigError(f"sr.lr_final must be in (0, lr={self.lr}]; got {self.lr_final}.")


def _typed(key: str, value: Any, default: Any) -> Any:
    """`value` checked against the type of the option's default (ints for int options, any
    number for floats, lists of ints for tuples); a ConfigError naming ``sr.<key>``."""
    def fail(expected: str):
        raise ConfigError(f"sr.{key} must be {expected}; got {value!r}.")
    if isinstance(default, bool):
        return value if isinstance(value, bool) else fail("true or false")
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return value if ok else fail("an integer")
    if isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) \
            and math.isfinite(value)
        return float(value) if ok else fail("a finite number")
    if isinstance(default, str):
        return value if isinstance(value, str) else fail("a string")
    if isinstance(default, tuple):
        ok = isinstance(value, list | tuple) and value and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        return tuple(value) if ok else fail("a list of positive integers, e.g. [64, 32]")
    if key == "notes" and not isinstance(value, dict):
        fail("a table")
    return value


class PatchSampler:
    """Random aligned (LR, HR) crops from whole images; float tensors in [0, 1].

    Images are drawn with probability proportional to their area, so every pixel of the
    training set is equally likely to be seen.
    """

    def __init__(self, images: list[SRImage], cfg: SRConfig):
        r, p = cfg.scale, cfg.patch
        self.pairs = []
        for image in images:
            hr = to_planes(modcrop(image.pixels, r), cfg.color) / np.float32(255.0)
            if hr.shape[1] < p * r or hr.shape[2] < p * r:
                continue
            lr = np.stack([downscale(plane, r, cfg.degradation) for plane in hr])
            self.pairs.append((lr, hr))
        if not self.pairs:
            raise ConfigError(f"no training image is at least {p * r} pixels on each side; "
                              f"lower sr.patch or use larger photos.")
        areas = np.array([lr.shape[1] * lr.shape[2] for lr, _ in self.pairs], float)
        self.p_image = areas / areas.sum()
        self.scale, self.patch = r, p

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        r, p = self.scale, self.patch
        xs, ys = [], []
        for k in rng.choice(len(self.pairs), size=batch_size, p=self.p_image):
            lr, hr = self.pairs[k]
            i = rng.integers(0, lr.shape[1] - p + 1)
            j = rng.integers(0, lr.shape[2] - p + 1)
            x, y = lr[:, i:i + p, j:j + p], hr[:, i * r:(i + p) * r, j * r:(j + p) * r]
            turns, flip = rng.integers(4), rng.integers(2)
            x, y = np.rot90(x, turns, (1, 2)), np.rot90(y, turns, (1, 2))
            if flip:
                x, y = x[:, :, ::-1], y[:, :, ::-1]
            xs.append(x)
            ys.append(y)
        return torch.from_numpy(np.stack(xs).copy()), torch.from_numpy(np.stack(ys).copy())


def split_train_val(images: list[SRImage], n_val: int) -> tuple[list, list]:
    """Every k-th image (k = len / n_val) is held out for validation."""
    if n_val <= 0:
        return images, []
    k = max(2, len(images) // n_val)
    val = [im for i, im in enumerate(images) if i % k == k // 2][:n_val]
    names = {im.name for im in val}
    return [im for im in images if im.name not in names], val


def _val_psnr(model, images: list[SRImage], cfg: SRConfig, device=None,
              precision: str = "fp32") -> float:
    scores = [score_image(im, cfg.scale, model, methods=(), degradation=cfg.degradation,
                          device=device, precision=precision)[0] for im in images]
    return float(np.mean([s["psnr_y_db"] for s in scores]))


def learning_rate_factor(cfg: SRConfig, step: int) -> float:
    """The rate at `step` (1-based) as a fraction of ``cfg.lr``: linear warm-up from 1/100,
    then a cosine from 1 down to ``lr_final / lr`` at the last step."""
    if step <= cfg.warmup_steps:
        return 0.01 + 0.99 * step / cfg.warmup_steps
    floor = cfg.lr_final / cfg.lr
    t = (step - 1 - cfg.warmup_steps) / max(1, cfg.steps - 1 - cfg.warmup_steps)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))


SR_RUN_FILES = ("config.json", "env.json", "model.safetensors", "last.safetensors",
                "optimizer.safetensors", "history.csv", "metrics.json")


def train_espcn(cfg: SRConfig, out_dir: str | Path, *, data_dir=None, images=None,
                progress=None, callbacks: Sequence[Callback] = (), command: str = "",
                resume: bool = False, overwrite: bool = False,
                max_seconds: float | None = None) -> Path:
    """Train an ESPCN as `cfg` says and write the run folder `out_dir`; return it.

    `images` (a list of `SRImage`) replaces ``cfg.train_data`` (tests use tiny ones).
    `progress` is the tqdm-like factory of the download bars (`aelab.data.download`);
    `callbacks` (`aelab.train.Callback`) see every step and every evaluation, an evaluation
    period of ``eval_every`` steps being their epoch.
    `max_seconds` ends this job after the first evaluation past that many seconds of
    training; ``resume=True`` continues the run saved in `out_dir` (its config must equal
    `cfg`); ``overwrite=True`` replaces it (once the new run's data has loaded). A folder
    that holds a run is refused otherwise. The folder is locked while training
    (`aelab.files.folder_lock`). ``metrics.json`` says whether the run is complete
    (``steps_done == steps``).
    """
    _cpu.configure()
    out = Path(out_dir)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other.")
    with folder_lock(out):
        held = [name for name in SR_RUN_FILES if (out / name).exists()]
        if held and not (resume or overwrite):
            raise ConfigError(f"run folder {str(out)!r} already holds a run ({held[0]}). Pass "
                              "--resume to continue it, --overwrite to replace it, or choose "
                              "another --out.")
        if resume:
            _check_resumable(out, cfg)
        return _train(cfg, out, data_dir=data_dir, images=images, progress=progress,
                      callbacks=callbacks,
                      command=command, resume=resume, max_seconds=max_seconds)


def _train(cfg: SRConfig, out: Path, *, data_dir, images, progress, callbacks, command: str,
           resume: bool, max_seconds: float | None) -> Path:
    device = resolve_device(cfg.device, "sr.device")      # before anything is written
    rng = np.random.default_rng(cfg.seed)
    if images is None:
        images = load_images(cfg.train_data, data_dir=data_dir, progress=progress)
    train_images, val_images = split_train_val(images, cfg.val_images)
    sampler = PatchSampler(train_images, cfg)
    with seeded(cfg.seed):
        model = create_upscaler("espcn", scale=cfg.scale, color=cfg.color,
                                features=list(cfg.features), kernels=list(cfg.kernels))
    model = model.to(device)
    if cfg.channels_last:       # before the optimizer, so its state gets the same layout
        model = model.to(memory_format=torch.channels_last)
    precision = resolve_precision(cfg.precision, device, model, batch_size=cfg.batch_size,
                                  key="sr.precision")
    last = list(model.last_layer.parameters())
    rest = [p for p in model.parameters() if all(p is not q for q in last)]
    opt = torch.optim.Adam([{"params": rest, "lr": cfg.lr},
                            {"params": last, "lr": cfg.lr * cfg.last_layer_lr_scale}])
    state = {"step": 0, "seconds": 0.0, "best": -math.inf, "jobs": []}
    history: list[dict] = []
    if resume:
        state, history = _restore(out, model, opt, rng)
    else:                      # everything checked: replace what an old run left here
        for name in SR_RUN_FILES:
            (out / name).unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", asdict(cfg))
    remove_stale_temps(out)
    env = provenance(command) | {"device": str(device), "precision": precision}
    if resume and (out / "env.json").is_file():      # keep the command of every job
        previous = read_json(out / "env.json", "run environment")
        env["commands"] = [*previous.get("commands", [previous.get("command", "")]), command]
    write_json(out / "env.json", env)
    base = [cfg.lr, cfg.lr * cfg.last_layer_lr_scale]
    m = model.halo * cfg.scale
    stepper = Stepper(model, opt, device, precision=precision, step=state["step"],
                      callbacks=callbacks, hint=f"Lower sr.lr (now {cfg.lr}).")
    for cb in callbacks:     # an evaluation period (eval_every steps) is the callbacks' epoch
        cb.on_train_start(-(-cfg.steps // cfg.eval_every), cfg.eval_every,
                          state["step"] // cfg.eval_every + 1)
    step, best, running = state["step"], state["best"], []
    start = time.perf_counter()
    while step < cfg.steps:
        step += 1
        factor = learning_rate_factor(cfg, step)
        for g, b in zip(opt.param_groups, base, strict=True):
            g["lr"] = b * factor
        x, y = sampler.sample(cfg.batch_size, rng)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        model.train()
        with stepper.forward():
            pred = model(x, pad=False)          # the crop's interior only: see PatchSampler
        terms = {"total": F.mse_loss(pred.float(), y[:, :, m:-m, m:-m])}
        stepper(terms)
        running.append(terms["total"].detach())
        if step % cfg.eval_every == 0 or step == cfg.steps:
            stepper.end_epoch(terms)
            seconds = state["seconds"] + time.perf_counter() - start
            losses = torch.stack(running).double().cpu().numpy()
            row = {"step": step, "seconds": seconds, "train_mse": float(np.mean(losses)),
                   "lr": opt.param_groups[0]["lr"]}
            running = []
            if val_images:
                row["val_psnr_y_db"] = _val_psnr(model, val_images, cfg, device, precision)
            score = row.get("val_psnr_y_db", -row["train_mse"])
            if score > best:
                best = score
                save_upscaler(model, out / "model.safetensors")
            history.append(row)
            logger.info("step %d: %s", step, row)
            for cb in callbacks:
                cb.on_epoch_end({"epoch": -(-step // cfg.eval_every), **row})
            if max_seconds is not None and time.perf_counter() - start >= max_seconds:
                break
    job_seconds = time.perf_counter() - start
    for cb in callbacks:
        cb.on_train_end(history)
    state = {"step": step, "seconds": state["seconds"] + job_seconds, "best": best,
             "jobs": [*state["jobs"], {"steps_to": step, "seconds": job_seconds}]}
    _checkpoint(out, model, opt, rng, state)
    write_history(out / "history.csv", history)
    metrics = {"train_seconds": state["seconds"], "steps": cfg.steps, "steps_done": step,
               "jobs": state["jobs"], "n_train_images": len(train_images),
               "n_val_images": len(val_images),
               "best_val_psnr_y_db": best if val_images else None,
               "val_images": [im.name for im in val_images]}
    write_json(out / "metrics.json", metrics)
    return out


def _checkpoint(out: Path, model, opt, rng: np.random.Generator, state: dict) -> None:
    save_upscaler(model, out / "last.safetensors")
    save_optimizer(opt, out / "optimizer.safetensors",
                   {**state, "rng": rng.bit_generator.state})


def _check_resumable(out: Path, cfg: SRConfig) -> None:
    """Refuse a resume, before any data loads, when `out` holds no run or another config."""
    if not (out / "last.safetensors").is_file():
        raise ConfigError(f"cannot resume {str(out)!r}: it holds no SR run to continue "
                          "(no last.safetensors). Start it without --resume.")
    saved_cfg = SRConfig.from_dict(read_json(out / "config.json", "SR run config"))
    if saved_cfg != cfg:
        diff = {k: (getattr(saved_cfg, k), getattr(cfg, k)) for k in asdict(cfg)
                if getattr(saved_cfg, k) != getattr(cfg, k)}
        raise ConfigError(f"cannot resume {str(out)!r} with a different config: "
                          f"{diff} (saved, given). Resume with the same options.")


def _restore(out: Path, model, opt, rng: np.random.Generator):
    """Load the state `_checkpoint` wrote into model, optimizer and rng; (state, history)."""
    model.load_state_dict(load_upscaler(out / "last.safetensors").state_dict())
    extra = load_optimizer(opt, out / "optimizer.safetensors")
    rng.bit_generator.state = extra.pop("rng")
    history = [{k: int(v) if k == "step" else v for k, v in row.items() if not math.isnan(v)}
               for row in read_history(out / "history.csv")]
    return extra, history


def train_espcn_whole(x_hr: torch.Tensor, scale: int, *, epochs: int, batch_size: int = 128,
                       lr: float = 1e-3, seed: int = 0) -> torch.nn.Module:
    """An ESPCN (grey) fit on whole small images (N, 1, H, W) in [0, 1], as the
    super-resolution study's MNIST digits: LR = `aelab.corruptions.resize.shrink`(HR). The
    border padding is the same in training and use, so no interior crop is needed here (unlike
    `train_espcn`'s crops of photos); Adam with a cosine decay over all steps, the output
    layer's rate 10x smaller."""
    with seeded(seed):
        # replicate: digits shrunk to 4x4 are smaller than the mirror padding's 4-pixel margin
        model = create_upscaler("espcn", scale=scale, color="grey", padding="replicate")
    x_lr = shrink(x_hr, scale)
    last = list(model.last_layer.parameters())
    rest = [p for p in model.parameters() if all(p is not q for q in last)]
    opt = torch.optim.Adam([{"params": rest}, {"params": last, "lr": lr * 0.1}], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * -(-len(x_hr) // batch_size))
    stepper = Stepper(model, opt, torch.device("cpu"), scheduler=sched,
                      hint=f"Lower the ESPCN lr (now {lr}).")
    gen = torch.Generator().manual_seed(seed)
    size = x_hr.shape[-2:]
    for epoch in range(1, epochs + 1):
        for idx in torch.randperm(len(x_hr), generator=gen).split(batch_size):
            pred = model(x_lr[idx])[..., :size[0], :size[1]]
            stepper({"total": F.mse_loss(pred, x_hr[idx])}, epoch)
    return model.eval()


def load_sr_run(run_dir: str | Path) -> tuple[SRConfig, torch.nn.Module]:
    """The config and the best checkpoint of a run folder written by `train_espcn`."""
    run = Path(run_dir)
    if not (run / "model.safetensors").is_file():
        raise ConfigError(f"{str(run)!r} is not a super-resolution run folder (no "
                          f"model.safetensors). Train one with `aelab sr-train`.")
    cfg_path = run / "config.json"
    cfg = SRConfig.from_dict(read_json(cfg_path, "SR run config")) if cfg_path.is_file() \
        else None
    return cfg, load_upscaler(run / "model.safetensors")


