#!/usr/bin/env bash
# The published package, as a user gets it: npm run prebuild, npm pack, then install the tarball
# into an empty folder with --ignore-scripts and no compiler on PATH, and with plain node import
# tinynn (require and import), print backends(), train 1 epoch on 10 000 MNIST samples, save and
# load the model. On Linux also the portability of the .node: no libcudart/libcublas/libcuda
# dependency, the highest GLIBC_ and GLIBCXX_ versions it needs. Exits non-zero on any failure.
# With --all: npm run prebuild:all instead (every target, cross-built), the tarball must carry all
# four, and from the installed package the arm64 one is also run under qemu, the win32 one under
# wine and the x64 one on an emulated x86-64 without AVX (scripts/cross-test.sh).
# Run after the normal build (.ci/run: npm install, npm test); the build then is incremental.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fail() { echo "pack-test: FAIL: $*" >&2; exit 1; }
all=false
case ${1:-} in
  --all) all=true; npm run --silent prebuild:all ;;
  --prebuilt) ;;
  '') npm run --silent prebuild ;;
  *) fail "unknown option $1 (--all or --prebuilt)" ;;
esac

# --- portability of the prebuild (ELF platforms) -----------------------------------------------
plat=$(node -p "process.platform + '-' + process.arch")
node_file=$(ls prebuilds/"$plat"/*.node | head -n 1)
[ -f "$node_file" ] || fail "no prebuild in prebuilds/$plat"
echo "pack-test: prebuild $node_file, $(du -k "$node_file" | cut -f1) KiB"
if [ "$(uname -s)" = Linux ]; then
  needed=$(readelf -d "$node_file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  echo "pack-test: NEEDED: $needed"
  if grep -Eq 'libcudart|libcublas|libcuda\.' <<<"$needed"; then fail "links CUDA libraries at load time: $needed"; fi
  versions=$(objdump -T "$node_file" | grep -o 'GLIBC_[0-9.]*\|GLIBCXX_[0-9.]*\|CXXABI_[0-9.]*' | sort -u)
  glibc=$(echo "$versions" | grep '^GLIBC_' | sort -V | tail -n 1)
  glibcxx=$(echo "$versions" | grep '^GLIBCXX_\|^CXXABI_' | sort -V | tail -n 1 || true)
  echo "pack-test: GLIBC floor: ${glibc#GLIBC_} (highest GLIBC_ symbol version); GLIBCXX: ${glibcxx:-none}"
  sections=$(readelf -S "$node_file")
  if grep -q nv_fatbin <<<"$sections"; then echo "pack-test: CUDA backend compiled in (.nv_fatbin present)";
  else echo "pack-test: CPU-only build (no .nv_fatbin)"; fi
  if [ "${TINYNN_CUDA:-}" = on ] && ! grep -q nv_fatbin <<<"$sections"; then fail "TINYNN_CUDA=on but the prebuild has no CUDA code"; fi
fi

# --- pack ----------------------------------------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
tgz="$work/$tarball"
[ -f "$tgz" ] || fail "npm pack wrote no tarball"
echo "pack-test: $tarball: $(du -k "$tgz" | cut -f1) KiB packed, $(tar -tzf "$tgz" | wc -l) files"
bytes=$(wc -c <"$tgz" | tr -d ' ')
[ "$bytes" -lt 12000000 ] || fail "the tarball is $bytes bytes, not under 12 MB"
listing=$(tar -tzf "$tgz")
if $all; then
  for want in linux-x64/node.napi.glibc.node linux-arm64/node.napi.glibc.node win32-x64/node.napi.node darwin-arm64/node.napi.node; do
    grep -qx "package/prebuilds/$want" <<<"$listing" || fail "the tarball lacks prebuilds/$want"
  done
fi
for want in package/dist/index.js package/esm/index.mjs "package/$node_file" package/CMakeLists.txt \
            package/cmake/cuda.cmake package/scripts/build-addon.js package/scripts/fetch-cublas-headers.sh; do
  grep -qx "$want" <<<"$listing" || fail "the tarball lacks $want"
done
grep -q '^package/cpp/.*\.cc$' <<<"$listing" || fail "the tarball lacks cpp/ sources"
grep -q '^package/cuda/.*\.cu$' <<<"$listing" || fail "the tarball lacks cuda/ sources"
bad=$(grep -E '^package/(tests|bench|build[^/]*|\.deps|\.venv|lib)/|fixtures|\.test\.' <<<"$listing" || true)
[ -z "$bad" ] || fail "the tarball carries files it should not: $(echo "$bad" | head -n 5 | tr '\n' ' ')"

# --- a PATH with node and npm and basic tools, and no compiler --------------------------------------
bin="$work/bin"
mkdir -p "$bin"
ln -s "$(command -v node)" "$bin/node"
ln -s "$(command -v npm)" "$bin/npm"
for t in sh bash env cat ls mkdir rm cp mv ln chmod dirname basename uname grep sed head tail tr wc sort mktemp date true false; do
  p=$(command -v "$t" || true)
  [ -n "$p" ] && ln -s "$p" "$bin/$t"
done
for c in cc c++ gcc g++ clang clang++ cmake nvcc make ninja; do
  if PATH="$bin" command -v "$c" >/dev/null 2>&1; then fail "$c is reachable on the test PATH"; fi
done
echo "pack-test: test PATH has no cc/c++/gcc/g++/clang/cmake/nvcc/make/ninja"

# --- install the tarball into an empty folder, scripts off ------------------------------------------
app="$work/app"
mkdir -p "$app"
echo '{ "name": "tinynn-pack-test", "version": "1.0.0", "private": true }' > "$app/package.json"
(cd "$app" && env -u TINYNN_ADDON PATH="$bin" \
  npm install --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error "$tgz") \
  || fail "npm install of the tarball failed"
[ ! -e "$app/node_modules/tinynn/build" ] || fail "the installed package has a build/ folder"

cat > "$app/smoke.cjs" <<'EOF'
const assert = require('assert');
const os = require('os');
const path = require('path');
const fs = require('fs');
const tinynn = require('tinynn');
const { nn, optim, Trainer, datasets, backends, save, load, manualSeed } = tinynn;
(async () => {
  const esm = await import('tinynn');
  assert.strictEqual(esm.backends, backends, 'import and require give the same module');
  const b = backends();
  if (process.env.CUDA_VISIBLE_DEVICES === '-1') assert.strictEqual(b.cuda, false, 'CUDA hidden');
  console.log('pack-test: backends():', JSON.stringify(b));
  assert.strictEqual(b.cpu, true);
  const loaded = require('node-gyp-build').path(path.dirname(require.resolve('tinynn/package.json')));
  assert.ok(loaded.includes(`${path.sep}prebuilds${path.sep}`), `the addon comes from prebuilds/: ${loaded}`);
  console.log('pack-test: addon loaded from', path.relative(process.cwd(), loaded));
  manualSeed(1);
  const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
  model.to(process.env.PACK_TEST_DEVICE || 'auto');
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const { train, test } = await datasets.mnist();
  const t0 = Date.now();
  const history = await new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss() })
    .fit(train.subset(0, 10000), { epochs: 1, batchSize: 64, validation: test });
  const e = history.epochs[0];
  console.log(`pack-test: 1 epoch, 10000 samples on ${process.env.PACK_TEST_DEVICE || 'auto'}: loss ${e.loss.toFixed(4)}, ` +
    `test accuracy ${(e.valAccuracy * 100).toFixed(2)}% (${Date.now() - t0} ms)`);
  assert.ok(e.valAccuracy > 0.85, `test accuracy ${e.valAccuracy} after 1 epoch`);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-pack-')), 'mnist.safetensors');
  await save(model, file);
  manualSeed(2);
  const other = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
  await load(other, file);
  const a = model.stateDict(), c = other.stateDict();
  for (const name of Object.keys(a)) {
    assert.deepStrictEqual(c[name].shape, a[name].shape, name);
    assert.deepStrictEqual(Buffer.from(c[name].toArray().buffer), Buffer.from(a[name].toArray().buffer), name);
  }
  console.log(`pack-test: saved and loaded ${Object.keys(a).join(', ')} (${fs.statSync(file).size} bytes): weights equal`);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
})().catch((err) => { console.error(err); process.exit(1); });
EOF
run_app() { (cd "$app" && env -u TINYNN_ADDON PATH="$bin" "$@"); }
out=$(run_app node smoke.cjs 2>&1) || { echo "$out"; fail "the installed package does not train"; }
echo "$out"
# The install script, had scripts been on, finds the prebuild and builds nothing (no compiler here).
grep -q 'using the existing native addon' <<<"$(run_app node node_modules/tinynn/scripts/build-addon.js)" \
  || fail "scripts/build-addon.js does not take the prebuild"
echo "pack-test: the install script takes the prebuild and builds nothing"
# CUDA unavailable: on a machine without a GPU the run above was it; where CUDA was usable, again
# with the devices hidden, on the CPU.
if grep -q '"cuda":true' <<<"$out"; then
  run_app env CUDA_VISIBLE_DEVICES=-1 PACK_TEST_DEVICE=cpu node smoke.cjs || fail "the installed package does not train with CUDA unavailable"
fi
if $all; then
  bash scripts/cross-test.sh linux-arm64 "$app/node_modules/tinynn" || fail "the installed package does not work on linux-arm64 under qemu"
  bash scripts/cross-test.sh win32-x64 "$app/node_modules/tinynn" || fail "the installed package does not work on win32-x64 under wine"
  bash scripts/cross-test.sh linux-x64-baseline "$app/node_modules/tinynn" || fail "the installed package does not work on an x86-64 without AVX"
fi
echo "pack-test: OK"
