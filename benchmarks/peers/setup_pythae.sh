#!/usr/bin/env bash
# Creates pythae's own virtual environment for benchmarks/peers/peers.py, at
# benchmarks/peers/.venv-pythae (git-ignored). pythae is a peer being measured, never an
# aelab dependency: nothing in aelab imports it.
#
#   bash benchmarks/peers/setup_pythae.sh [PYTHON]     # PYTHON: default python3 (3.8 or newer)
#
# Order matters: torch==2.13.0 first, so that no later step can pull a CUDA build of torch
# (several GB); then pythae's runtime dependencies (requirements-pythae.txt); then pythae 0.1.2
# itself with --no-deps, because it also lists the obsolete `dataclasses` backport.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${1:-python3}"
venv="$here/.venv-pythae"

"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet torch==2.13.0
"${pip[@]}" install --quiet -r "$here/requirements-pythae.txt"
"${pip[@]}" install --quiet --no-deps pythae==0.1.2
# pip check: everything pythae needs is there but the backport left out on purpose.
broken="$("${pip[@]}" check | grep -v -e '^pythae 0.1.2 requires dataclasses, which is not installed.$' \
          -e '^No broken requirements found.$' || true)"
if [ -n "$broken" ]; then echo "$broken" >&2; exit 1; fi
"$venv/bin/python" - <<'PY'
import importlib.metadata as md

import torch
from pythae.models import AE, AEConfig  # noqa: F401  (fails here if a dependency is missing)
from pythae.pipelines import TrainingPipeline  # noqa: F401

assert "cuda" not in torch.__version__ and torch.version.cuda is None, torch.__version__
print(f"pythae {md.version('pythae')}, torch {torch.__version__}: ready")
PY
