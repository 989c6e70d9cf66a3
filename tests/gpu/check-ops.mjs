// Checks every CUDA primitive of the addon against the CPU backend (tests/gpu/op-checks.mjs), the
// error paths, then the training-step executors in one process: CPU composed, CUDA composed, CUDA
// fused and CUDA fused with cudaClusterLayer1, from the same weights (tests/gpu/step-checks.mjs).
//   node tests/gpu/check-ops.mjs [--out results.json] [--filter REGEX]
// --filter runs only the checks whose names match REGEX (e.g. '^step:', 'binary (add|pow)').
// Exit code: 0 all passed, 1 a check failed, 2 CUDA unavailable (nothing could be checked),
// 3 the addon does not load.
// TINYNN_CHECK_DEVICE=cpu runs the "cuda" side on the CPU too: a dry run of the checks themselves
// (the checks that need a second device, out-of-memory and cuda:99, are left out).
// TINYNN_CHECK_SEED=N repeats a run's random inputs.
import * as fs from 'fs';
import { addonPath, loadAddon, outFile } from './load-addon.mjs';
import { errorChecks, makeRandom, opChecks, runChecks, TOLERANCE } from './op-checks.mjs';
import { FUSED_TOLERANCE, stepChecks } from './step-checks.mjs';

const out = outFile();
const filterAt = process.argv.indexOf('--filter');
const filter = filterAt >= 0 ? new RegExp(process.argv[filterAt + 1]) : null;
const report = { addon: addonPath(), tolerance: TOLERANCE, fusedTolerance: FUSED_TOLERANCE, filter: filter?.source ?? null,
  backends: null, seed: null, device: null, groups: {}, results: [], passed: 0, failed: 0 };
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
report.device = device;
if (device === 'cuda' && !report.backends.cuda) {
  report.unavailable = report.backends.reason;
  console.log(`CUDA unavailable: ${report.backends.reason}`);
  save();
  process.exit(2);
}

report.seed = Number(process.env.TINYNN_CHECK_SEED ?? (Date.now() % 2 ** 31));
console.log(`checks on ${device}: seed ${report.seed} (TINYNN_CHECK_SEED=${report.seed} repeats these inputs)`);
const t0 = performance.now();
// Each check's inputs come from the seed and its name alone (the generator is reseeded before it
// runs), so a seed with --filter repeats a failing check's inputs exactly.
const rnd = makeRandom(report.seed);
const nameSeed = (name) => {
  let h = 0x811c9dc5 ^ report.seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
};
const checks = [...opChecks(native, rnd, device), ...errorChecks(native, device), ...stepChecks(native, rnd, device)]
  .filter(([name]) => !filter || filter.test(name))
  .map(([name, fn]) => [name, () => (rnd.reseed(nameSeed(name)), fn())]);
let lastGroup = null;
report.results = await runChecks(checks, (r) => {
  if (r.group !== lastGroup) {
    lastGroup = r.group;
    console.log(`${r.group} checks... (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  if (!r.ok) console.log(`FAIL ${r.name}: ${r.detail}`);
});
report.seconds = +((performance.now() - t0) / 1000).toFixed(2);
report.passed = report.results.filter((r) => r.ok).length;
report.failed = report.results.length - report.passed;
const finiteMax = (rs, f) => rs.map(f).filter((v) => v !== null && v !== undefined && Number.isFinite(v)).reduce((m, v) => Math.max(m, v), 0);
for (const group of ['op', 'error', 'step']) {
  const rs = report.results.filter((r) => r.group === group);
  const g = { passed: rs.filter((r) => r.ok).length, failed: rs.filter((r) => !r.ok).length,
    seconds: +(rs.reduce((s, r) => s + r.ms, 0) / 1000).toFixed(2) };
  if (group !== 'error') g.maxRelErr = finiteMax(rs, (r) => r.relErr);
  if (group === 'step') g.maxFusedVsComposed = finiteMax(rs, (r) => r.extra?.fusedErr);
  report.groups[group] = g;
}
report.maxRelErr = Math.max(report.groups.op.maxRelErr, report.groups.step.maxRelErr);
const { op, error, step } = report.groups;
console.log(`op checks: ${op.passed} passed, ${op.failed} failed in ${op.seconds} s; max rel err ${op.maxRelErr.toExponential(2)} (tol ${TOLERANCE})`);
console.log(`error checks: ${error.passed} passed, ${error.failed} failed`);
console.log(`step checks: ${step.passed} passed, ${step.failed} failed in ${step.seconds} s; max rel err vs cpu ` +
  `${step.maxRelErr.toExponential(2)} (tol ${TOLERANCE}), fused vs composed ${step.maxFusedVsComposed.toExponential(2)} (tol ${FUSED_TOLERANCE})`);
console.log(`all checks: ${report.passed} passed, ${report.failed} failed in ${report.seconds} s`);
for (const r of report.results.filter((x) => x.group === 'error')) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}`);
save();
process.exit(report.failed ? 1 : 0);
