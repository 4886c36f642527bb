"""Compare a rerun of a study with its committed result file, record for record.

    python benchmarks/compare_results.py benchmarks/results/pca_vs_ae_mnist.json \
        --rerun sweep=/tmp/pca/sweep/results.json --rerun d30-full=/tmp/pca/full/results.json \
        --out benchmarks/results/pca_vs_ae_mnist_rerun.json

The committed file's records carry a ``run`` key when it joins several study commands; each
``--rerun RUN=PATH`` names the rerun of one of them (a plain ``--rerun PATH`` stands for a file
without ``run`` keys). Records are compared in order, every key except the timings
(``*_seconds``), with ``==``: a match is exact, to the last bit. The output holds one record
per compared record (its identifying keys, ``identical``, and the keys that differ with both
values), the rerun's machine and versions, and the commands.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path


def timing(key: str) -> bool:
    return key.endswith("_seconds") or key == "seconds"


def compare(committed: list[dict], rerun: list[dict], run: str | None) -> list[dict]:
    if len(committed) != len(rerun):
        raise SystemExit(f"run {run!r}: {len(committed)} committed records but {len(rerun)} "
                         "in the rerun; they cannot be compared record for record.")
    rows = []
    for old, new in zip(committed, rerun, strict=True):
        keys = [k for k in dict.fromkeys([*old, *new]) if not timing(k) and k != "run"]
        differ = {k: {"committed": old.get(k), "rerun": new.get(k)} for k in keys
                  if old.get(k) != new.get(k)}
        ident = {k: v for k, v in old.items()
                 if k != "run" and not timing(k) and isinstance(v, str | int) and
                 not isinstance(v, bool) and k not in ("n_train", "n_test", "parameters")}
        rows.append({"run": run, **ident, "keys_compared": len(keys),
                     "identical": not differ, "differences": json.dumps(differ) if differ else ""})
    return rows


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("committed", type=Path)
    ap.add_argument("--rerun", action="append", required=True, metavar="[RUN=]PATH")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--note", default="", help="what was rerun, on which code")
    args = ap.parse_args(argv)
    committed = json.loads(args.committed.read_text())
    records, reruns = [], {}
    for item in args.rerun:
        run, _, path = item.rpartition("=")
        new = json.loads(Path(path).read_text())
        old = [r for r in committed["records"] if not run or r.get("run") == run]
        records += compare(old, new["records"], run or None)
        reruns[run or "all"] = {"command": new.get("command"), "machine": new.get("machine"),
                                "versions": new.get("versions")}
    first = next(iter(reruns.values()))
    out = {"committed": str(args.committed), "committed_command": committed.get("command"),
           "rerun_commands": {k: v["command"] for k, v in reruns.items()},
           "machine": first["machine"], "versions": first["versions"],
           "command": "python benchmarks/compare_results.py " + shlex.join(argv),
           "note": args.note, "identical": all(r["identical"] for r in records),
           "records": records}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    same = sum(r["identical"] for r in records)
    print(f"{same} of {len(records)} records identical (timings aside) -> {args.out}")
    return 0 if out["identical"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
