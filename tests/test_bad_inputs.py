"""Bad input, as a careless or hostile user gives it: every case must end with the expected
exit code and ONE line ``error: ...`` naming the cause, no traceback, and every file that
existed before byte-for-byte unchanged (only a ``.<folder>.lock`` beside a run may appear).

Each case is ``(id, setup, rc, words)``: ``setup(ctx)`` prepares files under the case's own
folder and returns the command line; ``words`` must all appear in the error line. The run
folders the cases damage are copies of one tiny demo run (3 epochs) and one tiny SR run.
"""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aelab.cli import main
from aelab.files import folder_lock
from aelab.sr.datasets import SRImage
from aelab.sr.train import SRConfig, train_espcn

REPO = Path(__file__).resolve().parents[1]
DEMO = str(REPO / "configs" / "demo.toml")
TINY = ["--set", "train.epochs=3", "--set", "data.limit=120", "--set", "data.test_limit=20",
        "--set", "model.channels=[4, 8]"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bad-inputs") / "demo"
    assert main(["train", DEMO, *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    images = [SRImage(f"p{i}", rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
              for i in range(2)]
    cfg = SRConfig(scale=2, patch=12, steps=2, eval_every=1, val_images=0, batch_size=2,
                   features=(4, 4))
    return train_espcn(cfg, tmp_path_factory.mktemp("bad-inputs-sr") / "sr", images=images)


def bomb_png() -> bytes:
    """A 30000 x 30000 grey PNG header with no pixel data (about 60 bytes on disk): Pillow
    refuses it at open, being over twice ``PIL.Image.MAX_IMAGE_PIXELS``."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


class Ctx:
    def __init__(self, tmp: Path, demo_run: Path, sr_run: Path):
        self.tmp, self._demo, self._sr = tmp, demo_run, sr_run

    def run(self, name: str = "run") -> str:
        """A copy of the trained demo run folder."""
        shutil.copytree(self._demo, self.tmp / name)
        return str(self.tmp / name)

    def sr(self) -> str:
        shutil.copytree(self._sr, self.tmp / "sr")
        return str(self.tmp / "sr")

    def file(self, name: str, content: bytes | str) -> str:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)

    def png(self, name: str, size=(8, 8), mode="L", value=128) -> str:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new(mode, size, value).save(path)
        return str(path)

    def edit_json(self, path: str, edit) -> None:
        p = Path(path)
        d = json.loads(p.read_text())
        edit(d)
        p.write_text(json.dumps(d))

    def folder(self, n=3) -> str:
        for i in range(n):
            self.png(f"photos/{i}.png", size=(12, 12), mode="RGB", value=(i * 40, 0, 0))
        return str(self.tmp / "photos")


def train(*sets: str, config: str = DEMO) -> list[str]:
    return ["train", config, *TINY, *[x for s in sets for x in ("--set", s)], "--out", "new"]


def _resume(ctx, *sets):
    return ["train", "--resume", ctx.run(), *[x for s in sets for x in ("--set", s)]]


def _cut(path: str, keep: int) -> None:
    p = Path(path)
    p.write_bytes(p.read_bytes()[:keep])


def _history_rows(run: str, rows: int) -> None:
    p = Path(run) / "history.csv"
    p.write_text("\n".join(p.read_text().splitlines()[:rows + 1]) + "\n")


def _old_format(run: str) -> str:
    (Path(run) / "checkpoint.safetensors").rename(Path(run) / "optimizer.safetensors")
    return run


def _locked(ctx) -> list[str]:
    run = ctx.run()
    ctx.lock = folder_lock(run)
    ctx.lock.__enter__()          # held by this process: the command must see a live holder
    return ["train", "--resume", run, "--set", "train.epochs=4"]


def _grey_model_colour_image(ctx):
    return ["reconstruct", ctx.run(), ctx.png("c.png", mode="RGB", value=(250, 0, 0)),
            "--out", "o"]


CONFIG_CASES = [
    ("unknown-model", lambda c: train("model.name=nope"), 2, ["model.name", "nope"]),
    ("model-option-typo", lambda c: train("model.latent=3"), 2, ["latent"]),
    ("unknown-train-key", lambda c: train("train.lrr=1"), 2, ["train.lrr", "train.lr"]),
    ("lr-negative", lambda c: train("train.lr=-1"), 2, ["train.lr", "-1"]),
    ("lr-nan", lambda c: train("train.lr=nan"), 2, ["train.lr", "finite"]),
    ("lr-text", lambda c: train("train.lr=abc"), 2, ["train.lr", "abc"]),
    ("epochs-zero", lambda c: train("train.epochs=0"), 2, ["train.epochs", ">= 1"]),
    ("batch-size-float", lambda c: train("train.batch_size=1.5"), 2, ["train.batch_size", "1.5"]),
    ("batch-size-text", lambda c: train("train.batch_size=ten"), 2, ["train.batch_size", "ten"]),
    ("batch-size-bool", lambda c: train("train.batch_size=true"), 2, ["train.batch_size"]),
    ("optimizer", lambda c: train("train.optimizer=adamx"), 2, ["train.optimizer", "adamx"]),
    ("device", lambda c: train("train.device=tpu"), 2, ["train.device", "tpu"]),
    ("patience-zero", lambda c: train("train.patience=0"), 2, ["train.patience"]),
    ("momentum", lambda c: train("train.momentum=2"), 2, ["train.momentum", "<= 1"]),
    ("seed-negative", lambda c: train("train.seed=-1"), 2, ["train.seed"]),
    ("val-fraction", lambda c: train("data.val_fraction=0.95"), 2, ["data.val_fraction"]),
    ("limit-zero", lambda c: train("data.limit=0"), 2, ["data.limit"]),
    ("dataset", lambda c: train("data.name=mnsit"), 2, ["data.name", "mnsit"]),
    ("loss", lambda c: train("loss.name=l2"), 2, ["loss.name", "l2"]),
    ("prior-option-without-prior", lambda c: train("loss.sigma=2.0"), 2, ["loss.sigma",
                                                                          "loss.prior"]),
    ("corruption-name", lambda c: train('corruption=[{name="blur"}]'), 2, ["corruption[0]"]),
    ("corruption-option", lambda c: train('corruption=[{name="gaussian", sdt=0.1}]'), 2,
     ["corruption[0]", "sdt"]),
    ("set-without-equals", lambda c: train("train.lr"), 2, ["--set", "train.lr"]),
    ("set-into-value", lambda c: train("name.x=1"), 2, ["name"]),
    ("name-absolute", lambda c: ["train", c.file("a.toml", 'name = "/tmp/elsewhere"\n')],
     2, ["/tmp/elsewhere", "plain run name"]),
    ("name-parent", lambda c: ["train", c.file("a.toml", 'name = "../up"\n')], 2,
     ["../up", "plain run name"]),
    ("name-dotdot", lambda c: ["train", c.file("a.toml", 'name = ".."\n')], 2,
     ["'..'", "plain run name"]),
    ("name-separator", lambda c: ["train", c.file("a.toml", 'name = "a/b"\n')], 2,
     ["a/b", "plain run name"]),
    ("name-hidden", lambda c: ["train", c.file("a.toml", 'name = ".hidden"\n')], 2,
     [".hidden", "plain run name"]),
    ("config-missing", lambda c: ["train", "nowhere.toml"], 2, ["nowhere.toml", "does not exist"]),
    ("config-not-utf8", lambda c: ["train", c.file("a.toml", b'name = "caf\xe9"\n')], 2,
     ["a.toml", "UTF-8"]),
    ("config-bad-toml", lambda c: ["train", c.file("a.toml", "[train\nlr = 1\n")], 2,
     ["a.toml", "cannot parse"]),
    ("config-bad-json", lambda c: ["train", c.file("a.json", "{'name': 1}")], 2,
     ["a.json", "cannot parse"]),
    ("config-unknown-section", lambda c: ["train", c.file("a.toml", "[trian]\nlr = 1\n")], 2,
     ["config.trian", "train"]),
    ("config-section-not-table", lambda c: ["train", c.file("a.toml", "train = 3\n")], 2,
     ["[train]"]),
    ("summary-unknown-model", lambda c: ["summary", DEMO, "--set", "model.name=nope"], 2,
     ["model.name"]),
]

RUN_FOLDER_CASES = [
    ("overwrite-invalid-config", lambda c: ["train", DEMO, *TINY, "--set", "model.name=nope",
                                            "--out", c.run(), "--overwrite"], 2, ["model.name"]),
    ("overwrite-bad-data", lambda c: ["train", DEMO, *TINY, "--set", "data.name=nope",
                                      "--out", c.run(), "--overwrite"], 2, ["data.name"]),
    ("overwrite-and-resume", lambda c: ["train", DEMO, "--out", c.run(), "--overwrite",
                                        "--resume", str(c.tmp / "run")], 2, ["--resume"]),
    ("overwrite-non-run-folder", lambda c: (c.file("mine/notes.txt", "keep me"),
                                            ["train", DEMO, *TINY, "--out", str(c.tmp / "mine"),
                                             "--overwrite"])[1], 2, ["run folders only"]),
    ("train-into-existing-run", lambda c: ["train", DEMO, *TINY, "--out", c.run()], 2,
     ["already holds a run", "--resume"]),
    ("train-into-a-file", lambda c: ["train", DEMO, *TINY, "--out", c.file("f", "x")], 2,
     ["is a file"]),
    ("train-into-folder-with-metrics", lambda c: (c.file("user/metrics.json", "{}"),
                                                  ["train", DEMO, *TINY, "--out",
                                                   str(c.tmp / "user")])[1], 2,
     ["already holds a run"]),
    ("resume-data-change", lambda c: _resume(c, "data.name=mnist"), 2, ["data.name", "digits"]),
    ("resume-model-change", lambda c: _resume(c, "model.latent_dim=8"), 2,
     ["model.latent_dim", "16"]),
    ("resume-loss-change", lambda c: _resume(c, "loss.name=bce"), 2, ["loss.name", "mse"]),
    ("resume-corruption-change", lambda c: _resume(c, 'corruption=[{name="gaussian"}]'), 2,
     ["corruption"]),
    ("resume-batch-size-change", lambda c: _resume(c, "train.batch_size=32"), 2,
     ["train.batch_size", "train.epochs, train.lr, train.patience"]),
    ("resume-bad-value", lambda c: _resume(c, "train.lr=-2"), 2, ["train.lr"]),
    ("resume-config-edited", lambda c: (c.edit_json(
        c.run() + "/config.json", lambda d: d["model"].update(latent_dim=4)),
        ["train", "--resume", str(c.tmp / "run")])[1], 2, ["model.latent_dim", "config.json"]),
    ("resume-config-malformed", lambda c: (c.run(), c.file("run/config.json", "{"), [
        "train", "--resume", str(c.tmp / "run")])[-1], 2, ["config.json", "not valid JSON"]),
    ("resume-no-config", lambda c: ["train", "--resume", str(Path(c.file("e/x", "")).parent)],
     2, ["no config.json"]),
    ("resume-no-checkpoint", lambda c: (Path(c.run(), "checkpoint.safetensors").unlink(), [
        "train", "--resume", str(c.tmp / "run")])[1], 2, ["checkpoint.safetensors",
                                                          "--overwrite"]),
    ("resume-old-format", lambda c: ["train", "--resume", _old_format(c.run())], 2,
     ["older aelab"]),
    ("resume-truncated-checkpoint", lambda c: (_cut(c.run() + "/checkpoint.safetensors", 500),
                                               ["train", "--resume", str(c.tmp / "run")])[1],
     2, ["checkpoint.safetensors", "not readable"]),
    ("resume-history-truncated", lambda c: (_history_rows(c.run(), 1),
                                            ["train", "--resume", str(c.tmp / "run")])[1], 2,
     ["history.csv has 1 epochs", "has 3"]),
    ("resume-history-longer", lambda c: (Path(c.run(), "history.csv").write_text(
        "epoch,train_total\n" + "".join(f"{i},0.1\n" for i in range(1, 8))),
        ["train", "--resume", str(c.tmp / "run")])[1], 2, ["history.csv has 7 epochs"]),
    ("resume-locked", _locked, 2, ["in use by another aelab process", "pid"]),
    ("evaluate-missing", lambda c: ["evaluate", str(c.tmp / "none")], 2, ["is missing"]),
    ("evaluate-config-malformed", lambda c: (c.run(), c.file("run/config.json", "[1,"),
                                             ["evaluate", str(c.tmp / "run")])[2], 2,
     ["config.json", "not valid JSON"]),
    ("evaluate-config-not-utf8", lambda c: (c.run(), c.file("run/config.json", b"\xff\xfe{"),
                                            ["evaluate", str(c.tmp / "run")])[2], 2,
     ["config.json", "UTF-8"]),
    ("evaluate-config-invalid", lambda c: (c.edit_json(
        c.run() + "/config.json", lambda d: d["train"].update(lr="fast")),
        ["evaluate", str(c.tmp / "run")])[1], 2, ["config.json", "train.lr"]),
    ("evaluate-config-edited", lambda c: (c.edit_json(
        c.run() + "/config.json", lambda d: d["model"].update(latent_dim=4)),
        ["evaluate", str(c.tmp / "run")])[1], 2, ["model.latent_dim", "edited"]),
    ("evaluate-truncated-weights", lambda c: (_cut(c.run() + "/model.safetensors", 100),
                                              ["evaluate", str(c.tmp / "run")])[1], 2,
     ["model.safetensors", "not a readable safetensors"]),
    ("evaluate-bad-history", lambda c: (Path(c.run(), "history.csv").write_text(
        "epoch,seconds\n1,abc\n"), ["evaluate", str(c.tmp / "run")])[1], 2,
     ["history.csv", "abc"]),
    ("report-bad-metrics", lambda c: (c.run(), c.file("run/metrics.json", "{oops"),
                                      ["report", str(c.tmp / "run")])[2], 2, ["metrics.json"]),
]

IMAGE_CASES = [
    ("reconstruct-missing", lambda c: ["reconstruct", c.run(), "no.png", "--out", "o"], 2,
     ["no.png", "does not exist"]),
    ("reconstruct-empty", lambda c: ["reconstruct", c.run(), c.file("e.png", b""), "--out",
                                     "o"], 2, ["e.png", "empty"]),
    ("reconstruct-not-image", lambda c: ["reconstruct", c.run(), c.file("t.png", "hello"),
                                         "--out", "o"], 2, ["t.png", "cannot read"]),
    ("reconstruct-truncated", lambda c: (c.png("p.png", size=(64, 64), value=7),
                                         _cut(str(c.tmp / "p.png"), 60),
                                         ["reconstruct", c.run(), str(c.tmp / "p.png"), "--out",
                                          "o"])[2], 2, ["p.png"]),
    ("reconstruct-bomb", lambda c: ["reconstruct", c.run(), c.file("b.png", bomb_png()),
                                    "--out", "o"], 2, ["b.png", "too large"]),
    ("reconstruct-colour-for-grey", _grey_model_colour_image, 2, ["c.png", "greyscale"]),
    ("reconstruct-same-names", lambda c: ["reconstruct", c.run(), c.png("a/x.png"),
                                          c.png("b/x.png"), "--out", "o"], 2,
     ["would both write", "x-input.png"]),
    ("restore-bomb", lambda c: ["restore", c.run(), c.file("b.png", bomb_png()), "--out", "o"],
     2, ["b.png", "too large"]),
    ("restore-same-names", lambda c: ["restore", c.run(), c.png("a/x.png"), c.png("b/x.png"),
                                      "--out", "o"], 2, ["would both write", "x-restored.png"]),
    ("restore-not-image", lambda c: ["restore", c.run(), c.file("t.png", "x"), "--out", "o"], 2,
     ["t.png"]),
    ("upscale-bomb", lambda c: ["upscale", c.sr(), c.file("b.png", bomb_png()), "--out", "o"],
     2, ["b.png", "too large"]),
    ("upscale-same-names", lambda c: ["upscale", c.sr(), c.png("a/x.png"), c.png("b/x.png"),
                                      "--out", "o"], 2, ["would both write", "x_x2.png"]),
    ("upscale-not-sr-run", lambda c: ["upscale", str(c.tmp), c.png("x.png"), "--out", "o"], 2,
     ["not a super-resolution run folder"]),
    ("image-folder-cache-too-big", lambda c: train("data.name=image_folder",
                                                   f"data.options.path={c.folder()!r}",
                                                   "data.options.size=40000"), 2,
     ["max_cache_gb", "GB"]),
    ("image-folder-cache-limit", lambda c: train("data.name=image_folder",
                                                 f"data.options.path={c.folder()!r}",
                                                 "data.options.max_cache_gb=1e-6"), 2,
     ["max_cache_gb = 1e-06"]),
    ("image-folder-cache-limit-bad", lambda c: train("data.name=image_folder",
                                                     f"data.options.path={c.folder()!r}",
                                                     "data.options.max_cache_gb=-1"), 2,
     ["data.options.max_cache_gb", "-1"]),
    ("image-folder-bomb", lambda c: (c.folder(), c.file("photos/z.png", bomb_png()),
                                     train("data.name=image_folder",
                                           f"data.options.path='{c.tmp / 'photos'}'",
                                           "data.options.size=8"))[2], 2,
     ["z.png", "too large"]),
    ("image-folder-missing", lambda c: train("data.name=image_folder",
                                             "data.options.path='nowhere'"), 2,
     ["data.options.path", "nowhere"]),
]

OPTION_CASES = [
    ("restore-batch-size-negative", lambda c: ["restore", c.run(), c.png("x.png"), "--out", "o",
                                               "--batch-size", "-1"], 2,
     ["--batch-size", "-1", ">= 1"]),
    ("restore-batch-size-zero", lambda c: ["restore", "r", "x.png", "--out", "o",
                                           "--batch-size", "0"], 2, ["--batch-size", "0"]),
    ("restore-batch-size-text", lambda c: ["restore", "r", "x.png", "--out", "o",
                                           "--batch-size", "many"], 2, ["--batch-size", "many"]),
    ("restore-overlap-negative", lambda c: ["restore", "r", "x.png", "--out", "o",
                                            "--overlap", "-3"], 2, ["--overlap", "-3"]),
    ("upscale-batch-size-zero", lambda c: ["upscale", "r", "x.png", "--out", "o",
                                           "--batch-size", "0"], 2, ["--batch-size"]),
    ("upscale-tile-negative", lambda c: ["upscale", "r", "x.png", "--out", "o", "--tile", "-1"],
     2, ["--tile"]),
    ("upscale-overlap-float", lambda c: ["upscale", "r", "x.png", "--out", "o", "--overlap",
                                         "1.5"], 2, ["--overlap", "1.5"]),
    ("sr-train-lr-text", lambda c: ["sr-train", "--out", "s", "--set", "lr=abc"], 2,
     ["sr.lr", "abc"]),
    ("sr-train-steps-text", lambda c: ["sr-train", "--out", "s", "--set", "steps=ten"], 2,
     ["sr.steps", "ten"]),
    ("sr-train-batch-float", lambda c: ["sr-train", "--out", "s", "--set", "batch_size=1.5"], 2,
     ["sr.batch_size", "1.5"]),
    ("sr-train-features-bad", lambda c: ["sr-train", "--out", "s", "--set", "features=[0]"], 2,
     ["sr.features"]),
    ("sr-train-unknown-option", lambda c: ["sr-train", "--out", "s", "--set", "stepz=3"], 2,
     ["sr.stepz", "steps"]),
    ("sr-train-max-minutes", lambda c: ["sr-train", "--out", "s", "--max-minutes", "0"], 2,
     ["--max-minutes"]),
    ("sr-train-scale", lambda c: ["sr-train", "--out", "s", "--scale", "5"], 2, ["--scale"]),
    ("sr-train-existing-run", lambda c: ["sr-train", "--out", c.sr(), "--set", "steps=2"], 2,
     ["already holds a run", "--resume"]),
    ("sr-train-resume-changed", lambda c: ["sr-train", "--out", c.sr(), "--resume", "--set",
                                           "steps=3"], 2, ["different config"]),
    ("cv-folds-one", lambda c: ["cv", DEMO, "--folds", "1"], 2, ["--folds"]),
    ("generate-n-zero", lambda c: ["generate", "r", "--n", "0", "--out", "o"], 2, ["--n"]),
    ("generate-scale-negative", lambda c: ["generate", "r", "--scale", "-1", "--out", "o"], 2,
     ["--scale"]),
    ("unknown-command", lambda c: ["trian"], 2, ["invalid choice", "trian"]),
    ("train-unknown-flag", lambda c: ["train", DEMO, "--epochs", "3"], 2,
     ["unrecognized arguments", "--epochs"]),
]

CASES = CONFIG_CASES + RUN_FOLDER_CASES + IMAGE_CASES + OPTION_CASES


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` but lock files (which hold the pid of their holder)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def test_bad_input_cases_are_many_and_distinct():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids)) >= 60


@pytest.mark.parametrize("setup, rc, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(setup, rc, words, demo_run, sr_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ctx = Ctx(tmp_path, demo_run, sr_run)
    argv = setup(ctx)
    before = snapshot(tmp_path)
    capsys.readouterr()
    try:
        assert main(argv) == rc
    finally:
        if hasattr(ctx, "lock"):
            ctx.lock.__exit__(None, None, None)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines()          # progress bars aside
             if line.strip() and "%|" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and "unexpected" not in lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) == set(before), set(after) ^ set(before)
