#!/usr/bin/env bash
# Prints the folder of a throwaway copy of the package as npm would publish it (npm pack of this
# checkout, unpacked; dependencies from this checkout's node_modules), made under the folder given.
# The cross tests load it: in the checkout itself node-gyp-build would take build/Release, the
# x64 build, before prebuilds/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$1
tarball=$(cd "$root" && npm pack --silent --ignore-scripts --pack-destination "$dest" | tail -n 1)
tar xzf "$dest/$tarball" -C "$dest"
ln -s "$root/node_modules" "$dest/package/node_modules"
echo "$dest/package"
