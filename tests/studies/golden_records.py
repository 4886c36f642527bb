"""Golden records: what every registered study writes with --quick, kept under
``tests/studies/golden/<study>.json`` so that a refactoring of the study plumbing can show it
changed no number (timings aside).

Records are compared to the last digit, which only holds on the machine and library versions
they were captured with: each file keeps one capture per fingerprint (CPU model, SIMD level,
library versions), and the test compares with the capture of this machine's fingerprint (where
there is none it says so and skips). Capturing adds or replaces this machine's capture and keeps
the others. To capture them, on the code *before* a change, with one thread as the test runs
them::

    .venv/bin/python tests/studies/golden_records.py            # every study
    .venv/bin/python tests/studies/golden_records.py vae priors  # some
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"
MIRROR = Path(os.environ.get("AELAB_TEST_MIRROR",
                             Path(__file__).resolve().parents[2].parent / "shared" / "datasets"))
TIMING = re.compile(r"seconds|per_second")
# record lists kept beside "records" in some result files
RECORD_LISTS = ("records", "records_full_test", "baselines", "tried_at_smallest_size",
                "sweeps")
# Record lists that a study on the recipe keeps under another key of results.json than the
# "results.json:<same list>" the test looks for first: golden key -> key now.
MOVED = {"priors_sweeps_digits.json:records": "results.json:sweeps"}
NEEDS_MIRROR = {"super-resolution"}      # its quick version reads MNIST: no bundled stand-in


def without_timings(value):
    """`value` with every key that holds a duration or a rate removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if not TIMING.search(k)}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def study_results(out: Path) -> dict[str, object]:
    """The comparable results of a study folder: the record lists of its result files and the
    metrics of each run folder, keyed by their path relative to `out`."""
    found: dict[str, object] = {}
    for path in sorted(out.glob("*.json")):
        data = json.loads(path.read_text())
        for key in RECORD_LISTS:
            if isinstance(data, dict) and key in data:
                found[f"{path.name}:{key}"] = without_timings(data[key])
    for path in sorted(out.rglob("metrics.json")):
        found[str(path.relative_to(out))] = without_timings(json.loads(path.read_text()))
    return found


def canonical(results: dict[str, object]) -> dict[str, str]:
    """Each entry as sorted JSON text, so that NaN equals NaN and floats compare exactly."""
    return {k: json.dumps(v, sort_keys=True) for k, v in results.items()}


def fingerprint() -> dict[str, str]:
    """What the last digits of a training depend on: the CPU and the numeric libraries."""
    import numpy
    import sklearn
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch": torch.__version__, "numpy": numpy.__version__,
            "scikit-learn": sklearn.__version__}


def run_quick(name: str, out: Path) -> dict[str, object]:
    """Run study `name` with --quick into `out` on one thread; return its results."""
    import torch

    from aelab.studies import run_study

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_study(name, out_dir=out, quick=True)
    finally:
        torch.set_num_threads(before)
    return study_results(out)


def golden_path(name: str) -> Path:
    return GOLDEN / f"{name}.json"


def captures(name: str) -> list[dict]:
    """The captures of study `name`'s golden file, each {"fingerprint", "results"}."""
    path = golden_path(name)
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    if "captures" not in data:                  # the first layout: one capture per file
        return [{"fingerprint": data["fingerprint"], "results": data["results"]}]
    return data["captures"]


def golden_for_this_machine(name: str) -> dict | None:
    """The results captured on a machine with this one's fingerprint, or None."""
    here = fingerprint()
    return next((c["results"] for c in captures(name) if c["fingerprint"] == here), None)


def capture(names: list[str], scratch: Path) -> None:
    for name in names:
        if name in NEEDS_MIRROR:
            os.environ["AELAB_DATA"] = str(MIRROR)
        results = run_quick(name, scratch / name)
        os.environ.pop("AELAB_DATA", None)
        here = fingerprint()
        kept = [c for c in captures(name) if c["fingerprint"] != here]
        GOLDEN.mkdir(exist_ok=True)
        golden_path(name).write_text(json.dumps(
            {"study": name, "captures": [*kept, {"fingerprint": here, "results": results}]},
            indent=1, sort_keys=True) + "\n")
        print(f"{name}: {len(results)} entries -> {golden_path(name)} "
              f"({len(kept) + 1} machine(s))")


if __name__ == "__main__":
    import tempfile

    from aelab.studies import STUDIES

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("AELAB_CACHE", str(Path(tmp) / "cache"))
        capture(sys.argv[1:] or STUDIES.names(), Path(tmp))
