#!/usr/bin/env bash
# The sanitizer pass (issue 7): builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer
# (CPU only) into build-asan/, then runs the whole vitest suite against that build with the
# sanitizer runtimes preloaded into node. Any ASan/UBSan report fails the run.
#
#   bash scripts/sanitize.sh            # build (incremental) and test
#   SANITIZE_SKIP_BUILD=1 bash scripts/sanitize.sh   # reuse build-asan/ as it is
#   bash scripts/sanitize.sh tests/fuzz.test.ts      # extra arguments go to vitest
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build-asan
ADDON="$BUILD_DIR/Release/tinynn.node"

if [ "${SANITIZE_SKIP_BUILD:-0}" != 1 ] || [ ! -f "$ADDON" ]; then
  mkdir -p "$BUILD_DIR"
  echo "sanitize: building $ADDON (TINYNN_SANITIZE=address,undefined, TINYNN_CUDA=off)"
  # node's own headers when the install ships them (no download); else cmake-js fetches them.
  NODE_INC="$(dirname "$(dirname "$(command -v node)")")/include/node"
  [ -f "$NODE_INC/node_api.h" ] || NODE_INC=/usr/include/node
  export TINYNN_SANITIZE=address,undefined TINYNN_CUDA=off
  if [ -f "$NODE_INC/node_api.h" ]; then
    { cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTINYNN_CUDA=off \
        -DCMAKE_JS_INC="$NODE_INC" -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$PWD/$BUILD_DIR/Release" \
      && cmake --build "$BUILD_DIR" --parallel "$(nproc)"; } >"$BUILD_DIR/build.log" 2>&1
  else
    node node_modules/cmake-js/bin/cmake-js build --directory . -O "$BUILD_DIR" \
      --parallel "$(nproc)" --CDTINYNN_CUDA=off >"$BUILD_DIR/build.log" 2>&1
  fi || { tail -50 "$BUILD_DIR/build.log"; echo "sanitize: build failed (log: $BUILD_DIR/build.log)"; exit 1; }
  unset TINYNN_SANITIZE TINYNN_CUDA
fi
[ "${SANITIZE_BUILD_ONLY:-0}" = 1 ] && exit 0
# The addon must really be instrumented, else a green run proves nothing.
[ "$(nm -D "$ADDON" | grep -c __asan_report)" -gt 0 ] || { echo "sanitize: $ADDON is not built with ASan"; exit 1; }
[ "$(nm -D "$ADDON" | grep -c __ubsan_handle)" -gt 0 ] || { echo "sanitize: $ADDON is not built with UBSan"; exit 1; }
[ -d dist ] || npx tsc -p tsconfig.json

ASAN_RT="$(gcc -print-file-name=libasan.so)"
UBSAN_RT="$(gcc -print-file-name=libubsan.so)"
REPORT_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tinynn-sanitize.XXXXXX")"
trap 'rm -rf "$REPORT_DIR"' EXIT

# Every node process vitest starts (its fork pool, the CLI children the tests spawn, worker_threads)
# inherits these variables, so all of them run with the runtimes loaded and write reports to
# $REPORT_DIR/report.<pid>. detect_leaks=0: V8 and node leak at exit by design; the leak check
# (scripts/leak-check.sh) covers our code. UBSan halts on the first report.
export TINYNN_ADDON="$ADDON"
export LD_PRELOAD="$ASAN_RT $UBSAN_RT"
# allocator_may_return_null: an allocation too large to satisfy returns null as it does without
# ASan, so the tests of tinynn's out-of-memory errors see them.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1:log_path=$REPORT_DIR/asan:symbolize=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$REPORT_DIR/ubsan"
# The fuzz suite keeps its time bound under the slower sanitized build.
export TINYNN_FUZZ_SECONDS="${TINYNN_FUZZ_SECONDS:-40}"

status=0
npx vitest run "$@" || status=$?
unset LD_PRELOAD

# The out-of-memory tests ask for terabytes on purpose: ASan warns that it failed to allocate them
# (and returns null, as asked). A log holding only such warnings is expected, not a report.
for f in "$REPORT_DIR"/*; do
  [ -f "$f" ] || continue
  if ! grep -qvE '^(==[0-9]+==WARNING: AddressSanitizer failed to allocate 0x[0-9a-f]+ bytes)?$' "$f"; then
    echo "sanitize: expected: $(grep -c 'failed to allocate' "$f") refused allocation(s) of the out-of-memory tests"
    rm "$f"
  fi
done
reports=$(find "$REPORT_DIR" -type f | wc -l)
if [ "$reports" -gt 0 ]; then
  for f in "$REPORT_DIR"/*; do echo "=== $f"; head -80 "$f"; done
  echo "sanitize: $reports sanitizer report(s)"
  exit 1
fi
if [ "$status" -ne 0 ]; then echo "sanitize: vitest failed under the sanitizers (exit $status)"; exit "$status"; fi
echo "sanitize: whole suite passed against $ADDON, 0 sanitizer reports"
