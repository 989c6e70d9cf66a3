#!/usr/bin/env bash
# The GPU check of tinynn, for a Linux machine with an NVIDIA driver, a node binary on PATH, the
# built addon (build/Release/tinynn.node or $TINYNN_ADDON), dist/ (compiled TypeScript) and
# gzipped MNIST in $TINYNN_MNIST_DIR; no node_modules, no network. From the repository root:
#   . .gpu/env.sh && bash scripts/gpu-check.sh
# Two programs, each comparing what it compares inside one process:
# - tests/gpu/check-ops.mjs: every CUDA primitive against the CPU backend, the error paths, and the
#   training-step executors (CPU composed, CUDA composed, CUDA fused, CUDA fused with
#   cudaClusterLayer1) from the same weights;
# - tests/gpu/train.mjs: the 784-128-10 net for 5 epochs (>= 97 % test accuracy), the driver
#   against the eager path, bit-reproducibility, and epoch times at batch 64 and 512 of each
#   configuration (default fused, fusion 'none', cudaClusterLayer1, tf32: Trainer options);
# then tests/gpu/report.mjs prints a table last. Logs and JSON go to $OUT (else ./gpu-check-out);
# results.json holds everything. Exit code: 0 when every check passed, else non-zero (2: CUDA
# unavailable, 3: the addon does not load or an input is missing). Expected run time about
# a minute; each program has a time limit (90 s and 120 s).
# Dry run without a GPU: TINYNN_CHECK_DEVICE=cpu and TINYNN_TRAIN_DEVICE=cpu run the "cuda" side on
# the CPU (without them, a machine without CUDA stops after check-ops with exit code 2);
# TINYNN_DIST points train.mjs at another dist/.
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
  [ -f "${TINYNN_DIST:-dist}/index.js" ] || { echo "missing: ${TINYNN_DIST:-dist}/index.js (compiled TypeScript)"; missing=1; }
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

  local ops=0 train=0
  step check-ops 90 node tests/gpu/check-ops.mjs --out "$out/ops.json" || ops=$?
  if [ "$ops" = 2 ] || [ "$ops" = 3 ]; then
    echo "nothing more to run: $([ "$ops" = 2 ] && echo 'CUDA is unavailable' || echo 'the addon does not load')"
    node tests/gpu/report.mjs "$out" ops="$ops"
    return
  fi
  step train 120 node tests/gpu/train.mjs --out "$out/train.json" || train=$?
  node tests/gpu/report.mjs "$out" ops="$ops" train="$train"
}

main 2>&1 | tee "$out/gpu-check.log"
exit "${PIPESTATUS[0]}"
