#!/usr/bin/env bash
# The leak check (issue 7): a loop of train / save / load / evaluate / dispose
# (tests/reliability/leak-loop.cjs, 20 iterations by default) under LeakSanitizer, using the ASan
# build of the addon (built by scripts/sanitize.sh into build-asan/ when missing). Fails on any
# leak whose allocation stack passes through tinynn.node; leaks entirely inside node/V8 (none seen
# with node 20) are listed but not counted as ours.
#
#   bash scripts/leak-check.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
ITERATIONS="${1:-20}"
ADDON=build-asan/Release/tinynn.node
if [ ! -f "$ADDON" ]; then
  echo "leak-check: $ADDON missing; building it (scripts/sanitize.sh's build step)"
  SANITIZE_BUILD_ONLY=1 bash scripts/sanitize.sh
fi
[ -d dist ] || npx tsc -p tsconfig.json
ASAN_RT="$(gcc -print-file-name=libasan.so)"
UBSAN_RT="$(gcc -print-file-name=libubsan.so)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tinynn-leak.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
# fast_unwind_on_malloc=0: full stacks through the addon's frames (it has frame pointers, node
# may not). The leak check runs at exit, after node's own teardown.
LSAN_ENV=(LD_PRELOAD="$ASAN_RT $UBSAN_RT"
  ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=40:log_path=$WORK/report"
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$WORK/report")

# 1. Canary: a throwaway addon that leaks 4321 bytes must be caught, else LeakSanitizer is not
#    really running (ptrace-restricted containers, a runtime that was not preloaded…).
NODE_INC="$(dirname "$(dirname "$(command -v node)")")/include/node"
[ -f "$NODE_INC/node_api.h" ] || NODE_INC=/usr/include/node
if [ -f "$NODE_INC/node_api.h" ]; then
  cat >"$WORK/canary.c" <<'C'
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
void* volatile sink;
static napi_value Init(napi_env env, napi_value exports) { sink = malloc(4321); memset(sink, 1, 4321); sink = 0; return exports; }
NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
C
  gcc -shared -fPIC -I"$NODE_INC" -o "$WORK/canary.node" "$WORK/canary.c"
  env "${LSAN_ENV[@]/report/canary}" node -e "require('$WORK/canary.node')" || true
  if ! grep -qs "Direct leak of 4321 byte" "$WORK"/canary.*; then
    echo "leak-check: LeakSanitizer did not catch the canary leak; it is not working here"; exit 1
  fi
  echo "leak-check: LeakSanitizer is live (caught the canary's 4321-byte leak)"
else
  echo "leak-check: warning: no node headers for the canary; skipping the LeakSanitizer self-test"
fi

# 2. The loop itself.
started=$(date +%s)
status=0
env "${LSAN_ENV[@]}" TINYNN_ADDON="$ADDON" node --expose-gc tests/reliability/leak-loop.cjs "$ITERATIONS" || status=$?
elapsed=$(( $(date +%s) - started ))

reports=("$WORK"/report.*)
ours=0
theirs=0
if [ -e "${reports[0]}" ]; then
  # One record per "Direct/Indirect leak of …" paragraph; ours when a frame is in tinynn.node.
  read -r ours theirs < <(awk '
    /(Direct|Indirect) leak of/ { if (inleak) { if (hit) o++; else t++ } inleak=1; hit=0; next }
    inleak && /tinynn\.node/ { hit=1 }
    inleak && /^$/ { if (hit) o++; else t++; inleak=0 }
    END { if (inleak) { if (hit) o++; else t++ } print o+0, t+0 }' "${reports[@]}")
  cat "${reports[@]}" | head -150
fi
echo "leak-check: $ITERATIONS iterations in ${elapsed}s; leaks from tinynn.node: $ours; leaks inside node/V8 only: $theirs"
if [ "$ours" -gt 0 ]; then echo "leak-check: FAILED: leaks from our code"; exit 1; fi
if grep -qs "runtime error:\|ERROR: AddressSanitizer" "${reports[@]}" 2>/dev/null; then echo "leak-check: FAILED: sanitizer error"; exit 1; fi
if [ "$status" -ne 0 ] && [ "$theirs" -eq 0 ]; then echo "leak-check: FAILED: the loop exited with $status"; exit "$status"; fi
echo "leak-check: passed (0 leaks from our code)"
