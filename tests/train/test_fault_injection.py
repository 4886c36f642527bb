"""SIGKILL between checkpoint writes, a killed --overwrite, two writers at once: real
processes, killed for real (the short version of benchmarks/fault_injection.py)."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from aelab.cli import main
from aelab.train.checkpoint import CHECKPOINT

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("fault_injection",
                                               REPO / "benchmarks" / "fault_injection.py")
fi = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fi)

SHORT = ["train.epochs=3", "data.limit=200", "data.test_limit=40", "model.channels=[4, 8]"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run, trained in this process."""
    out = tmp_path_factory.mktemp("fault") / "reference"
    assert main(fi.train_command(out, SHORT)[3:]) == 0
    return out


def test_sigkill_between_checkpoint_writes_resumes_to_identical_weights(reference, tmp_path):
    out, log = tmp_path / "run", tmp_path / "hook.log"
    # Killed with checkpoint 2 on disk under its temporary name only:
    killed = fi.start_and_kill(fi.train_command(out, SHORT), log, at="2 written")
    assert not killed["finished_before_kill"] and killed["last_point"] == "2 written"
    assert fi.folder_state(out) == {"checkpoint_epoch": 1, "history_epochs": 1,
                                    "stale_temps": 1}
    # Resumed, and killed again with checkpoint 3 committed but its exports not rewritten:
    log.unlink()
    killed = fi.start_and_kill(fi.train_command(out, resume=True), log, at="3 committed")
    assert killed["last_point"] == "3 committed"
    assert fi.folder_state(out) == {"checkpoint_epoch": 3, "history_epochs": 2,
                                    "stale_temps": 0}
    assert main(["train", "--resume", str(out)]) == 0
    assert fi.folder_state(out) == {"checkpoint_epoch": 3, "history_epochs": 3,
                                    "stale_temps": 0}
    for name in ("model.safetensors", "best.safetensors"):
        assert fi.same_bytes(out / name, reference / name), name


def test_sigkill_during_overwrite_puts_the_old_run_back(reference, tmp_path):
    out = tmp_path / "run"
    subprocess.run(["cp", "-r", str(reference), str(out)], check=True)
    old = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    cmd = [*fi.train_command(out, [*SHORT, "train.lr=1e-2"]), "--overwrite"]
    fi.start_and_kill(cmd, tmp_path / "hook.log", at="1 written")   # before the 1st commit
    assert list(tmp_path.glob(".run.old-*")) and not (out / CHECKPOINT).exists()
    assert main(["train", "--resume", str(out)]) == 0     # puts it back, nothing to train
    assert not list(tmp_path.glob(".run.old-*"))
    for name in ("model.safetensors", CHECKPOINT, "config.json", "history.csv"):
        assert (out / name).read_bytes() == old[name], name


def test_second_writer_is_refused_while_the_first_trains(reference, tmp_path, capsys):
    out, log = tmp_path / "run", tmp_path / "hook.log"
    first = subprocess.Popen(fi.train_command(out, SHORT), env=fi._env(log),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while "1 committed" not in fi._points(log):
        assert first.poll() is None, first.stderr.read()
    assert main(["train", "--resume", str(out), "--set", "train.epochs=5"]) == 2
    err = capsys.readouterr().err
    assert "is in use by another aelab process" in err and f"pid {first.pid}" in err
    assert main(["train", str(fi.DEMO), "--out", str(out), "--overwrite"]) == 2
    assert first.wait(timeout=300) == 0                   # the first writer is unharmed
    assert fi.same_bytes(out / "model.safetensors", reference / "model.safetensors")
