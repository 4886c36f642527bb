"""``--device`` and ``--precision``: the same two options on every command that runs a model."""

from __future__ import annotations


def add_device_args(sp) -> None:
    from ..precision import PRECISIONS

    sp.add_argument("--device", default="auto",
                    help="where the model runs: auto (CUDA when there is one, default), cpu, "
                         "cuda or cuda:N")
    sp.add_argument("--precision", default="fp32", choices=PRECISIONS,
                    help="fp32 (default); bf16 (autocast: about 2x faster for conv models on "
                         "CPUs with AMX/AVX512-BF16 and on recent GPUs, within bf16's "
                         "rounding); auto (bf16 where it pays)")


def device_from(args):
    """The torch.device that ``--device`` names (an error naming the option if it names none
    on this machine)."""
    from ..config import check_device
    from ..train import resolve_device

    return resolve_device(check_device(args.device, "--device"), key="--device")


def precision_from(args, model, device, batch_size: int | None = None) -> str:
    """What ``--precision`` means for `model` on `device`: ``"fp32"`` or ``"bf16"``."""
    from ..precision import resolve_precision

    return resolve_precision(args.precision, device, model, batch_size=batch_size,
                             key="--precision")
