#!/usr/bin/env bash
# Installs what `npm run bench` compares tinynn with, and checks tinynn itself is built.
# Idempotent and quick once done (the first PyTorch install takes minutes):
#   - .venv: a Python venv with torch, safetensors and numpy from pip's configured package index
#     ($PYTHON makes it, default python3);
#   - the TensorFlow.js devDependencies (@tensorflow/tfjs, @tensorflow/tfjs-backend-wasm), with
#     npm install when missing; the wasm backend's .wasm files must be in node_modules, since the
#     bench loads them from there and never downloads them.
# Exit code 0 when everything is in place, 1 otherwise (the message says what is missing).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { echo "bench-setup: $*"; }

if [ ! -f dist/index.js ]; then
  say "dist/ is missing: run npm install first"
  exit 1
fi

if .venv/bin/python -c 'import torch, safetensors, numpy' 2>/dev/null; then
  say "PyTorch $(.venv/bin/python -c 'import torch; print(torch.__version__)') in .venv"
else
  say "installing PyTorch into .venv (a few minutes, once)"
  [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv || {
    say "could not create .venv with ${PYTHON:-python3} -m venv (on Debian/Ubuntu: apt-get install python3-venv)"
    exit 1
  }
  .venv/bin/pip install --quiet torch safetensors numpy
  .venv/bin/python -c 'import torch; print("bench-setup: PyTorch", torch.__version__, "installed in .venv")'
fi

tfjs_present() {
  node -e "require.resolve('@tensorflow/tfjs'); require.resolve('@tensorflow/tfjs-backend-wasm')" 2>/dev/null
}
if ! tfjs_present; then
  say "installing the TensorFlow.js devDependencies (npm install)"
  npm install --no-audit --no-fund
  tfjs_present || { say "TensorFlow.js is still missing after npm install; is package.json's devDependencies intact?"; exit 1; }
fi
wasm_dir=$(node -e "console.log(require('path').dirname(require.resolve('@tensorflow/tfjs-backend-wasm')))")
if ! ls "$wasm_dir"/*.wasm >/dev/null 2>&1; then
  say "no .wasm files in $wasm_dir: reinstall @tensorflow/tfjs-backend-wasm"
  exit 1
fi
say "TensorFlow.js $(node -p "require('@tensorflow/tfjs/package.json').version") with the wasm backend ($(basename -a "$wasm_dir"/*.wasm | paste -sd ' '))"
