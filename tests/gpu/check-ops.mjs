// Checks every CUDA op of the addon against the CPU backend, then the error paths.
//   node tests/gpu/check-ops.mjs [--out results.json]
// Exit code: 0 all passed, 1 a check failed, 2 CUDA unavailable (nothing could be checked),
// 3 the addon does not load.
// TINYNN_CHECK_DEVICE=cpu runs the op checks CPU against CPU: a dry run of the checks themselves.
import * as fs from 'fs';
import { addonPath, loadAddon, outFile } from './load-addon.mjs';
import { errorChecks, makeRandom, opChecks, runChecks, TOLERANCE } from './op-checks.mjs';

const out = outFile();
const settings = ['TINYNN_CUDA_FUSED_HEAD', 'TINYNN_CUDA_FUSED_STEP', 'TINYNN_CUDA_CLUSTER_LAYER1', 'TINYNN_TF32']
  .filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]}`).join(' ') || 'default';
const report = { addon: addonPath(), settings, tolerance: TOLERANCE, backends: null, seed: null, results: [], passed: 0, failed: 0 };
const save = () => out && fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');

let native;
try {
  native = loadAddon();
} catch (e) {
  // A binary built against a newer glibc/libstdc++ than this machine has fails here, with the
  // missing symbol version in the message.
  report.loadError = String(e?.message ?? e);
  console.log(`the addon does not load: ${report.loadError}`);
  save();
  process.exit(3);
}
report.backends = native.backends();
console.log('backends():', JSON.stringify(report.backends));
const device = process.env.TINYNN_CHECK_DEVICE === 'cpu' ? 'cpu' : 'cuda';
if (device === 'cuda' && !report.backends.cuda) {
  report.unavailable = report.backends.reason;
  console.log(`CUDA unavailable: ${report.backends.reason}`);
  save();
  process.exit(2);
}

report.seed = Number(process.env.TINYNN_CHECK_SEED ?? (Date.now() % 2 ** 31));
console.log(`op checks: seed ${report.seed} (TINYNN_CHECK_SEED=${report.seed} repeats these inputs)`);
const t0 = performance.now();
report.device = device;
const checks = [...opChecks(native, makeRandom(report.seed), device), ...(device === 'cuda' ? errorChecks(native) : [])];
report.results = runChecks(checks, (r) => {
  if (!r.ok) console.log(`FAIL ${r.name}: ${r.detail}`);
});
report.passed = report.results.filter((r) => r.ok).length;
report.failed = report.results.length - report.passed;
report.seconds = +((performance.now() - t0) / 1000).toFixed(2);
const worst = report.results.filter((r) => r.relErr !== null && Number.isFinite(r.relErr)).reduce((m, r) => Math.max(m, r.relErr), 0);
report.maxRelErr = worst;
console.log(`op checks: ${report.passed} passed, ${report.failed} failed in ${report.seconds} s; ` +
  `max rel err ${worst.toExponential(2)} (tol ${TOLERANCE})`);
for (const r of report.results.filter((x) => x.name.startsWith('error:'))) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}`);
save();
process.exit(report.failed ? 1 : 0);
