"""``aelab restore RUN_DIR IMAGE... --out DIR``: restore image files of any size with a trained
(denoising) run, tile by tile at the model's input size (see `aelab.restore`)."""

from __future__ import annotations

import sys
from pathlib import Path

from .device import add_device_args, device_from, precision_from
from .numbers import integer


def cmd_restore(args) -> int:
    from ..apply import output_paths, read_image, save_image
    from ..errors import DataError
    from ..restore import restore_image
    from ..runs import load_run

    device = device_from(args)                        # a bad --device: nothing written
    _, model = load_run(args.run_dir)
    precision = precision_from(args, model, device, args.batch_size)
    channels = model.input_shape[0]
    targets = output_paths(args.images, args.out, "{stem}-restored.png")
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path, target in zip(args.images, targets, strict=True):
        try:
            image = read_image(path, channels)        # (C, H, W) uint8, any size
            restored = restore_image(model, image, overlap=args.overlap,
                                     batch_size=args.batch_size, device=device,
                                     precision=precision)
        except DataError as e:                        # nothing is written for this input
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        save_image(restored, target)                  # atomic: no half files
        print(target)
    return 2 if failed else 0


def register(add) -> None:
    sp = add("restore", cmd_restore, "restore image files of any size with a trained "
             "denoising run (overlapping tiles at the model's input size)")
    sp.add_argument("run_dir", type=Path)
    sp.add_argument("images", nargs="+", type=Path)
    sp.add_argument("--out", type=Path, required=True, help="output folder")
    sp.add_argument("--overlap", type=integer(0), default=None,
                    help="pixels shared by neighbouring tiles (default: half a tile)")
    sp.add_argument("--batch-size", type=integer(1), default=64, help="tiles restored at once")
    add_device_args(sp)
