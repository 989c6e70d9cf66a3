#!/usr/bin/env bash
# npm run prebuild:all: builds the addon for every published target on one Linux x64 machine and
# lays each out where node-gyp-build looks (prebuildify's names: prebuilds/<platform>-<arch>/
# node.napi[.glibc].node):
#   linux-x64    zig c++ against glibc 2.28, libc++ static; cuda/*.cu through nvcc (g++ host
#                compiler, CUDA runtime static) when TINYNN_CUDA allows (auto, the default, or on)
#   linux-arm64  zig c++ against glibc 2.28, libc++ static; CPU only
#   win32-x64    Debian's MinGW-w64 g++, runtime linked statically; CPU only
#   darwin-arm64 zig c++ (scripts/cross-build-darwin-arm64.sh, which also inspects it); CPU only
# Headers come from the building node (include/node, for Node-API's basic finalizers; see
# CMakeLists.txt), node-api-headers and node-addon-api (npm); nothing is downloaded but the
# toolchains scripts/install-cross-toolchains.sh takes from Debian and npm. Each Linux binary's
# glibc floor is checked (scripts/check-glibc-floor.sh). Usage: prebuild-all.sh [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(linux-x64 linux-arm64 win32-x64 darwin-arm64)
bash scripts/install-cross-toolchains.sh

cmake_js() {  # cmake_js <build folder> <TINYNN_CUDA> <cmake -D...>
  local out=$1 cuda=$2
  shift 2
  TINYNN_CUDA=$cuda npx cmake-js compile --parallel "$(nproc)" -O "$out" --CDTINYNN_CUDA="$cuda" "$@"
}
place() {  # place <built file> <platform-arch> <file name> [strip command...]: copies it into prebuilds/
  local dir="prebuilds/$2" file="prebuilds/$2/$3"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$1" "$file"
  shift 3
  [ $# -eq 0 ] || "$@" "$file"
  echo "prebuild-all: $file ($(stat -c %s "$file") bytes)"
}

for target in "${targets[@]}"; do
  start=$(date +%s)
  echo "prebuild-all: building $target"
  case $target in
    linux-x64|linux-arm64)
      arch=${target#linux-}
      zig_arch=$([ "$arch" = x64 ] && echo x86_64 || echo aarch64)
      cuda=off
      [ "$arch" = x64 ] && cuda=${TINYNN_CUDA:-auto}
      cmake_js "build-$target" "$cuda" --CDCMAKE_TOOLCHAIN_FILE=cmake/toolchains/zig-linux-gnu.cmake \
        --CDZIG_TARGET="$zig_arch-linux-gnu.2.28"
      place "build-$target/Release/tinynn.node" "$target" node.napi.glibc.node llvm-strip --strip-unneeded
      bash scripts/check-glibc-floor.sh "prebuilds/$target/node.napi.glibc.node" 2.28
      ;;
    win32-x64)
      cmake_js build-win32-x64 off --CDCMAKE_TOOLCHAIN_FILE=cmake/toolchains/x86_64-w64-mingw32.cmake
      place build-win32-x64/tinynn.node win32-x64 node.napi.node x86_64-w64-mingw32-strip --strip-unneeded
      dlls=$(x86_64-w64-mingw32-objdump -p prebuilds/win32-x64/node.napi.node | sed -n 's/.*DLL Name: //p' | tr '\n' ' ')
      echo "prebuild-all: win32-x64 imports from $dlls"
      # Only system DLLs and node.exe: a MinGW runtime DLL would not be on a user's machine.
      if grep -qiv '^\(KERNEL32\|msvcrt\|NODE\.EXE\|ADVAPI32\|api-ms-win-[a-z0-9-]*\)\(\.dll\)\?$' <(tr ' ' '\n' <<<"$dlls" | sed '/^$/d'); then
        echo "prebuild-all: FAILED: win32-x64 needs DLLs beyond the system's and node.exe's: $dlls"
        exit 1
      fi
      ;;
    darwin-arm64)
      bash scripts/cross-build-darwin-arm64.sh
      # Not stripped here: that would break the ad-hoc code signature zig's linker wrote.
      place build-darwin-arm64/tinynn.node darwin-arm64 node.napi.node
      ;;
    *) echo "prebuild-all: unknown target $target"; exit 2 ;;
  esac
  echo "prebuild-all: $target done in $(( $(date +%s) - start )) s"
done
# The x64 Linux build runs here: it must load and say what it has.
if [ -f prebuilds/linux-x64/node.napi.glibc.node ]; then
  node -e 'const a = require(process.argv[1]); console.log("prebuild-all: linux-x64 backends():", JSON.stringify(a.backends()))' \
    "$PWD/prebuilds/linux-x64/node.napi.glibc.node"
fi
