#!/usr/bin/env bash
# The GPU check of issue 24: aelab's models, apply commands, ESPCN throughput and two quick
# studies on CUDA (benchmarks/gpu_check.py, which writes benchmarks/results/gpu_check.json),
# then the test suite with the GPU visible (its CUDA tests run instead of skipping). About 5
# minutes on one H200.
#
# On a lent GPU machine (the `device` tool; no internet there, torch preinstalled), from the
# repository root here, once:
#     mkdir -p .gpu-data && cp -r ../shared/datasets/{mnist,sr-benchmarks} .gpu-data/
#     echo /.gpu-data/ >> .git/info/exclude
# then run this script there with `.gpu-data` carried:
#     run(command="bash benchmarks/gpu_check.sh", carry=[".gpu-data"], timeout_s=480)
# Without .gpu-data the models train on the bundled digits instead of MNIST.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
[ -d .gpu-data ] && export AELAB_DATA="$PWD/.gpu-data"
out=${OUT:-benchmarks/results}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
timeout 300 "$PY" benchmarks/gpu_check.py --out benchmarks/results/gpu_check.json
check=$?
cp benchmarks/results/gpu_check.json "$out/" 2>/dev/null || true
# the suite with CUDA visible; browser, Ray and export tests skip where their extras are absent
timeout 150 "$PY" -m pytest -q -x -p no:cacheprovider tests/train tests/cli tests/sr \
    tests/models 2>&1 | tee "$out/gpu_pytest.log" | tail -25
tests=${PIPESTATUS[0]}
echo "gpu_check.py exit $check, tests exit $tests"
exit $(( check != 0 || tests != 0 ))
