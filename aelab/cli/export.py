"""``aelab export RUN_DIR --format onnx [--part encoder|decoder|autoencoder|upscaler]``."""

from __future__ import annotations


def cmd_export(args) -> int:
    from ..export import export_onnx

    info = export_onnx(args.run_dir, part=args.part, out=args.out, opset=args.opset)
    shapes = lambda values: ", ".join(f"{v['name']} {v['shape']}" for v in values)  # noqa: E731
    print(f"{info['part']} -> {args.out or info['run'] + '/' + info['file']}\n"
          f"  inputs:  {shapes(info['inputs'])}\n  outputs: {shapes(info['outputs'])}\n"
          f"  onnxruntime vs torch: max abs difference {info['max_abs_diff']:.3g} "
          f"(tolerance {info['tolerance']:g}) on inputs {info['checked_input_shapes']}")
    return 0


def register(add) -> None:
    from ..export import FORMATS, OPSET, PARTS

    sp = add("export", cmd_export, "export a trained run to ONNX and check it with onnxruntime")
    sp.add_argument("run_dir", help="a run folder of `aelab train` or `aelab sr-train`")
    sp.add_argument("--format", choices=FORMATS, default="onnx")
    sp.add_argument("--part", choices=PARTS, default=None,
                    help="what to export (default: upscaler for sr-train runs, else "
                         "autoencoder)")
    sp.add_argument("--out", default=None, help="the .onnx file (default: RUN_DIR/PART.onnx)")
    sp.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET})")
