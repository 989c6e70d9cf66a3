#!/usr/bin/env bash
# Per-kernel device times of the training step on a GPU machine, from Nsight Compute:
#   . .gpu/env.sh && bash scripts/gpu-profile.sh [--fusion none] [--cluster] [--tf32]
# Runs tests/gpu/profile-steps.mjs (2 epochs of 20 steps) at batch 64 and 512 under ncu and prints
# each kernel's mean duration; logs go to $OUT (else ./gpu-check-out). The flags are Trainer options
# passed to profile-steps.mjs: the composed executor (fusion 'none'), cudaClusterLayer1, tf32;
# without them, the default fused executor. Each setting's logs get its own suffix.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-$root/gpu-check-out}
mkdir -p "$out"
export TINYNN_ADDON=${TINYNN_ADDON:-build/Release/tinynn.node}
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -n 1)
[ -n "$ncu" ] || { echo "ncu not found"; exit 3; }
tag=$(printf '%s' "$*" | tr -c 'a-z0-9' '-' | sed 's/--*/-/g; s/^-//; s/-$//')
tag=${tag:+-$tag}
for batch in 64 512; do
  echo "== batch $batch"
  node tests/gpu/profile-steps.mjs "$batch" 20 "$@" | tee "$out/profile-$batch$tag-plain.log"
  timeout 120 "$ncu" --clock-control none --metrics gpu__time_duration.sum --print-summary per-kernel \
    node tests/gpu/profile-steps.mjs "$batch" 20 "$@" > "$out/profile-$batch$tag.log" 2>&1
  grep -v '^==PROF==' "$out/profile-$batch$tag.log" | grep -E '^  [^ ]|gpu__time_duration' | head -40
done
# Why the fused step's kernels take what they take: launch shape, occupancy, warp stall reasons
# and scheduler issue rates for the three kernels of one step at batch 64 (6 launches: 2 steps;
# none with --fusion none, which launches no fused kernel).
echo "== batch 64: launch, occupancy, stall reasons (log: $out/profile-64$tag-stalls.log)"
timeout 90 "$ncu" --clock-control none --section LaunchStats --section Occupancy --section WarpStateStats \
  --section SchedulerStats -k regex:"gather_linear|linear_xent|linear_grad_sgd" --launch-count 6 \
  node tests/gpu/profile-steps.mjs 64 20 "$@" > "$out/profile-64$tag-stalls.log" 2>&1
grep -v '^==PROF==' "$out/profile-64$tag-stalls.log" | grep -E '^  [a-z_]+.*\(|Duration|Registers Per|Achieved Occupancy|Warp Cycles Per Issued|Issued Warp|No Eligible|Stall' | head -60
