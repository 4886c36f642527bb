"""``aelab sr-train`` (train an ESPCN on photos, score it on Set5/Set14) and
``aelab upscale RUN_DIR IMAGE... --out DIR [--tile N --overlap M]`` (sliced inference)."""

from __future__ import annotations

from .device import add_device_args, device_from, precision_from
from .numbers import integer, positive_number


def cmd_sr_train(args) -> int:
    import torch

    from ..config import parse_assignments
    from ..files import read_json, write_json
    from ..sr.datasets import load_set
    from ..sr.evaluate import score_set
    from ..sr.train import SRConfig, load_sr_run, train_espcn
    from .progress import TrainingBar, bar

    options = parse_assignments(args.set, example="steps=80000")
    cfg = SRConfig.from_dict({"scale": args.scale, "train_data": args.data, **options})
    max_seconds = None if args.max_minutes is None else 60.0 * args.max_minutes
    run = train_espcn(cfg, args.out, progress=bar, callbacks=[TrainingBar(unit="step")],
                      command=" ".join(["aelab", *args.argv]), resume=args.resume,
                      overwrite=args.overwrite, max_seconds=max_seconds)
    _, model = load_sr_run(run)
    env = read_json(run / "env.json", "run environment")
    device, precision = torch.device(env["device"]), env["precision"]
    metrics = read_json(run / "metrics.json", "metrics file")
    if metrics["steps_done"] < cfg.steps:
        print(f"stopped at step {metrics['steps_done']} of {cfg.steps} after "
              f"{metrics['train_seconds']:.0f} s of training; continue with the same command "
              f"and --resume. run folder: {run}")
        return 0
    for name in [] if args.test_sets == ["none"] else args.test_sets:
        _, means = score_set(load_set(name), cfg.scale, model, device=device,
                             precision=precision)
        metrics[name] = means
        print(f"{name} x{cfg.scale}: " + ", ".join(
            f"{m['method']} {m['psnr_y_db']:.2f} dB / SSIM {m['ssim_y']:.4f}" for m in means))
    write_json(run / "metrics.json", metrics)
    print(f"run folder: {run}")
    return 0


def cmd_upscale(args) -> int:
    from pathlib import Path

    from ..apply import channels_last, output_paths, read_image, save_png
    from ..sr.images import upscale_image
    from ..sr.train import load_sr_run

    device = device_from(args)                        # a bad --device: nothing written
    _, model = load_sr_run(args.run_dir)
    precision = precision_from(args, model, device, args.batch_size)
    out = Path(args.out)
    targets = output_paths(args.images, out, f"{{stem}}_x{model.scale}.png")
    out.mkdir(parents=True, exist_ok=True)
    tile = None if args.tile == 0 else args.tile
    for path, dest in zip(args.images, targets, strict=True):
        image = channels_last(read_image(path))
        result = upscale_image(model, image, tile=tile, overlap=args.overlap,
                               batch_size=args.batch_size, device=device, precision=precision)
        save_png(result, dest)
        print(f"{path} {image.shape[1]}x{image.shape[0]} -> {dest} "
              f"{result.shape[1]}x{result.shape[0]}")
    return 0


def register(add) -> None:
    sp = add("sr-train", cmd_sr_train,
             "train an ESPCN super-resolution model, then score it on Set5/Set14")
    sp.add_argument("--scale", type=int, default=3, choices=(2, 3, 4))
    sp.add_argument("--data", default="T91",
                    help="T91 (default) or a folder of your own photos (HR training images)")
    sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a training option, e.g. steps=5000 or degradation=blur")
    sp.add_argument("--test-sets", nargs="+", default=["Set5", "Set14"], metavar="SET",
                    help="test sets to score once training ends (default: Set5 Set14; "
                         "'none' to skip)")
    sp.add_argument("--out", required=True, help="run folder to write")
    sp.add_argument("--max-minutes", type=positive_number, default=None,
                    help="stop this job after about this many minutes of training (the run "
                         "can be continued with --resume)")
    sp.add_argument("--resume", action="store_true",
                    help="continue the run saved in --out (same options)")
    sp.add_argument("--overwrite", action="store_true",
                    help="replace the run in --out (refused without --resume or --overwrite)")
    sp = add("upscale", cmd_upscale, "upscale images of any size with a trained ESPCN run, "
             "tile by tile")
    sp.add_argument("run_dir", help="a run folder written by `aelab sr-train`")
    sp.add_argument("images", nargs="+", help="image files (png, bmp, jpg, ...)")
    sp.add_argument("--out", required=True, help="output folder (PNG files)")
    sp.add_argument("--tile", type=integer(0), default=192,
                    help="tile side in input pixels, the model's receptive-field margin "
                         "included (default 192, within a few %% of the whole image's speed; "
                         "0 = whole image at once)")
    sp.add_argument("--overlap", type=integer(0), default=16,
                    help="tile overlap in input pixels; must exceed twice the model's "
                         "receptive-field radius (8 for the default ESPCN)")
    sp.add_argument("--batch-size", type=integer(1), default=4, help="tiles per forward pass")
    add_device_args(sp)
