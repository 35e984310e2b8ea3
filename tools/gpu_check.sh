#!/usr/bin/env bash
# The CUDA path in one call, on a machine with a GPU and a python3 that holds PyTorch (no venv):
# both models' default runs timed, the training step's throughput on the GPU and on 2 of the host's
# cores (fp32, and bf16 where the CPU has AMX), then the whole suite with CUDA present (so every
# training test that does not pin --device cpu runs on the GPU, and tests/test_cuda.py runs).
#
#   bash tools/gpu_check.sh [OUT_DIR]     # logs, metrics and reports land in OUT_DIR (default /tmp/gpu_check)
#   (on a lent H100 the two trainings took 1.5 min and the throughput 1 min; give the suite 6 min more)
#
# MNIST is read from ../shared/mnist or ./data/mnist as usual; USPS and Semeion from ../shared/digits
# (copied there from ./data/digits when only that exists). The server tests are left out where
# FastAPI is not installed.
set -u
cd "$(dirname "$0")/.."
out=${1:-${OUT:-/tmp/gpu_check}}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
exec > >(tee "$out/gpu_check.log") 2>&1

if [ ! -d ../shared/digits ] && [ -d data/digits ]; then mkdir -p ../shared/digits && cp data/digits/* ../shared/digits/; fi
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(nproc) logical, amx: $(grep -c -m1 amx_bf16 /proc/cpuinfo)"
python3 -c "import sys, torch, onnxruntime; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'onnxruntime', onnxruntime.__version__)"

train() {  # name, script, flags...: the run's wall time, its last lines, its metrics.json kept
    local name=$1 script=$2; shift 2
    echo "== $name: python3 $script $*"
    SECONDS=0
    timeout 120 python3 "$script" "$@" --output-dir "/tmp/gpu_check_$name" 2>&1 | grep -v '%|' | tail -6
    echo "$name: exit ${PIPESTATUS[0]}, wall ${SECONDS} s"
    cp "/tmp/gpu_check_$name/metrics.json" "$out/${name}_metrics.json" 2>/dev/null
}
train improved improved_cnn.py
train basic basic_cnn.py

echo "== throughput on the GPU, then on 2 host cores"
timeout 60 python3 tools/throughput.py --device cuda --out "$out/throughput_cuda.md" | sed -n 3,12p
pin=$(command -v taskset >/dev/null && echo "taskset -c 0,1")
OMP_NUM_THREADS=2 timeout 90 $pin python3 tools/throughput.py --device cpu --out "$out/throughput_cpu2.md" | sed -n 3,14p

echo "== the suite, CUDA present: the CUDA and resume tests first, then the rest"
# tests/conftest.py gives each worker its share of the cores. faulthandler prints the stack of a test that hangs.
server_tests=$(python3 -c "import fastapi, uvicorn" 2>/dev/null || echo "--ignore=tests/test_server.py")
suite() {  # log name, seconds, pytest arguments...
    local log=$1 limit=$2; shift 2
    SECONDS=0
    timeout "$limit" python3 -m pytest -v -p no:cacheprovider -o faulthandler_timeout=240 \
        --tb=short --durations=8 -rfEs -W ignore "$@" > "$out/$log" 2>&1
    echo "$log: exit $?, ${SECONDS} s"
    grep -E "^(FAILED|ERROR)|passed|failed" "$out/$log" | tail -12
}
suite pytest_cuda.log 200 -n 6 tests/test_cuda.py tests/test_reliability.py
suite pytest_rest.log 260 -n 8 $server_tests --ignore=tests/test_cuda.py --ignore=tests/test_reliability.py tests

python3 - "$out" <<'PY'
import json, sys
from pathlib import Path
for path in sorted(Path(sys.argv[1]).glob("*_metrics.json")):
    m = json.loads(path.read_text())
    t = m["timing"]
    print(f"{path.name}: test {m['test']['accuracy']:.4f} ({m['test']['errors']} errors), training {t['training_s']:.1f} s, "
          f"{len(t['per_epoch_s'])} epochs (first {t['per_epoch_s'][0]:.1f} s), {t['train_images_per_s']:,.0f} images/s, {m['device']}")
PY
