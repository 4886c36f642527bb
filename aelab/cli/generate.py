"""``aelab generate RUN_DIR --n N [--class C] --out DIR``: new images from a trained run."""

from __future__ import annotations

from .device import add_device_args
from .numbers import integer, positive_number


def cmd_generate(args) -> int:
    from ..generate.files import generate_files
    from .device import device_from

    paths = generate_files(args.run_dir, args.n, args.out, label=args.label,
                           sampler=args.sampler, scale=args.scale, seed=args.seed,
                           device=device_from(args), precision=args.precision)
    print(f"wrote {len(paths) - 1} images to {args.out}\ngrid: {paths[-1]}")
    return 0


def register(add) -> None:
    sp = add("generate", cmd_generate, "generate new images with a trained run (PNGs + grid)")
    sp.add_argument("run_dir", help="a run folder written by `aelab train`")
    sp.add_argument("--n", type=integer(1), default=64, help="how many images (default 64)")
    sp.add_argument("--class", dest="label", type=integer(0), default=None,
                    help="generate this class, from the codes of its training images")
    sp.add_argument("--sampler", choices=("prior", "class_gaussian", "perturb"), default=None,
                    help="default: prior for a VAE, class_gaussian with --class or for a "
                         "plain autoencoder")
    sp.add_argument("--scale", type=positive_number, default=1.0,
                    help="std multiplier (class_gaussian) or noise in code stds (perturb)")
    sp.add_argument("--seed", type=integer(0), default=0)
    sp.add_argument("--out", required=True, help="output folder")
    add_device_args(sp)
