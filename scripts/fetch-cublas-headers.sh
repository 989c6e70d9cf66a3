#!/usr/bin/env bash
# Fetches the cuBLAS headers (cublas_v2.h and friends) for building cuda/ into
# .deps/cublas/include, from the nvidia-cublas wheel on the configured Python package index.
# Only the headers are kept: the addon dlopens libcublas at run time and never links it.
# Idempotent: returns at once when the headers are already there.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/.deps/cublas/include"

if [ -s "$dest/cublas_v2.h" ] && [ -s "$dest/.from" ]; then
  echo "cuBLAS headers: $dest ($(cat "$dest/.from"))"
  exit 0
fi

python=$(command -v python3 || command -v python || true)
[ -n "$python" ] || { echo "fetch-cublas-headers: python3 is needed (for pip)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --quiet --retries 0 --no-deps --only-binary=:all: -d "$tmp" nvidia-cublas
wheel=$(ls "$tmp"/nvidia_cublas-*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || { echo "fetch-cublas-headers: pip downloaded no nvidia_cublas wheel" >&2; exit 1; }

# The wheel keeps its headers under nvidia/cu13/include (nvidia/cublas/include in older ones).
rm -rf "$dest.part" && mkdir -p "$dest.part"
"$python" - "$wheel" "$dest.part" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        parts = name.split('/')
        if len(parts) >= 4 and parts[0] == 'nvidia' and parts[2] == 'include' and not name.endswith('/'):
            target = os.path.join(out, *parts[3:])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target, 'wb') as dst:
                dst.write(src.read())
            n += 1
if n == 0 or not os.path.exists(os.path.join(out, 'cublas_v2.h')):
    sys.exit('fetch-cublas-headers: no cublas_v2.h in ' + os.path.basename(wheel))
PY
basename "$wheel" > "$dest.part/.from"
rm -rf "$dest" && mv "$dest.part" "$dest"
echo "cuBLAS headers: $dest ($(cat "$dest/.from"))"
