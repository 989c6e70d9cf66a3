#!/usr/bin/env bash
# The GPU check of tinynn, for a Linux machine with an NVIDIA driver, a node binary on PATH, the
# built addon (build/Release/tinynn.node or $TINYNN_ADDON), dist/ (compiled TypeScript) and
# gzipped MNIST in $TINYNN_MNIST_DIR; no node_modules, no network. From the repository root:
#   . .gpu/env.sh && bash scripts/gpu-check.sh
# Checks every CUDA op against the CPU backend (tests/gpu/check-ops.mjs), trains the 784-128-10
# net for 5 epochs and times epochs at batch 64 and 512 (tests/gpu/train.mjs), and prints a table
# last (tests/gpu/report.mjs). Logs and JSON go to $OUT (else ./gpu-check-out); results.json holds
# everything. Exit code: 0 when every check passed, else non-zero (2: CUDA unavailable, 3: the
# addon does not load or an input is missing). Expected run time about a minute; each step has a
# time limit (450 s in all at worst).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-$root/gpu-check-out}
mkdir -p "$out"
export TINYNN_ADDON=${TINYNN_ADDON:-build/Release/tinynn.node}

# Runs "$@" with a time limit (where coreutils' timeout exists), its output also in $out/$1.log.
step() {
  local name=$1 limit=$2
  shift 2
  local t=()
  command -v timeout >/dev/null 2>&1 && t=(timeout --kill-after=10 "$limit")
  echo "== $name"
  ${t[@]+"${t[@]}"} "$@" 2>&1 | tee "$out/$name.log"
  return "${PIPESTATUS[0]}"
}

main() {
  echo "== tinynn gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) in $root, results in $out"
  local missing=0
  command -v node >/dev/null 2>&1 || { echo "missing: node on PATH (source .gpu/env.sh)"; missing=1; }
  [ -f "$TINYNN_ADDON" ] || { echo "missing: the addon $TINYNN_ADDON"; missing=1; }
  [ -f dist/index.js ] || { echo "missing: dist/index.js (compiled TypeScript)"; missing=1; }
  [ -n "${TINYNN_MNIST_DIR:-}" ] && [ -d "$TINYNN_MNIST_DIR" ] || echo "warning: TINYNN_MNIST_DIR is not a directory; training will fail"
  [ "$missing" = 0 ] || return 3

  {
    echo "uname: $(uname -srm)"
    echo "node: $(node --version)"
    echo "glibc: $(ldd --version 2>/dev/null | head -n 1)"
    echo "addon: $TINYNN_ADDON"
    echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not available')"
    echo "LD_LIBRARY_PATH: ${LD_LIBRARY_PATH:-}"
  } | tee "$out/system.txt"

  local ops=0 ops_cluster=0 train=0 unfused=0 unfused_step=0 cluster=0 tf32=0
  step check-ops 90 node tests/gpu/check-ops.mjs --out "$out/ops.json" || ops=$?
  if [ "$ops" = 2 ] || [ "$ops" = 3 ]; then
    echo "nothing more to run: $([ "$ops" = 2 ] && echo 'CUDA is unavailable' || echo 'the addon does not load')"
    node tests/gpu/report.mjs "$out" ops="$ops"
    return
  fi
  # The same op checks with the cluster layer-1 kernels (batches 129..1024, sm_90+) switched on.
  step check-ops-cluster 90 env TINYNN_CUDA_CLUSTER_LAYER1=1 node tests/gpu/check-ops.mjs --out "$out/ops-cluster.json" || ops_cluster=$?
  step train 90 node tests/gpu/train.mjs --out "$out/train.json" || train=$?
  # The same epochs without the fused head kernel, without the fused step (gather + layer 1 GEMM,
  # dW1 + SGD, the head's SGD: each as separate ops), with the cluster layer-1 kernels, and with TF32
  # GEMMs: what each setting buys.
  step train-unfused 45 env TINYNN_CUDA_FUSED_HEAD=0 node tests/gpu/train.mjs --timing-only --out "$out/train-unfused.json" || unfused=$?
  step train-unfused-step 45 env TINYNN_CUDA_FUSED_STEP=0 node tests/gpu/train.mjs --timing-only --out "$out/train-unfused-step.json" || unfused_step=$?
  step train-cluster 45 env TINYNN_CUDA_CLUSTER_LAYER1=1 node tests/gpu/train.mjs --timing-only --out "$out/train-cluster.json" || cluster=$?
  step train-tf32 45 env TINYNN_TF32=1 node tests/gpu/train.mjs --timing-only --out "$out/train-tf32.json" || tf32=$?
  node tests/gpu/report.mjs "$out" ops="$ops" ops-cluster="$ops_cluster" train="$train" train-unfused="$unfused" \
    train-unfused-step="$unfused_step" train-cluster="$cluster" train-tf32="$tf32"
}

main 2>&1 | tee "$out/gpu-check.log"
exit "${PIPESTATUS[0]}"
