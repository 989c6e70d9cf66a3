// Gathers the GPU check's results into one JSON and prints the summary table (last, by design).
//   node tests/gpu/report.mjs OUT_DIR STEP=EXIT_CODE ...   (steps: ops, train; each STEP's results
//   are read from OUT_DIR/STEP.json: ops from tests/gpu/check-ops.mjs, train from tests/gpu/train.mjs)
// Writes OUT_DIR/results.json. Exit code: 0 when every step passed, 2 when CUDA was unavailable,
// 3 when the addon did not load, else 1.
import * as fs from 'fs';
import * as path from 'path';

const dir = process.argv[2];
const codes = Object.fromEntries(process.argv.slice(3).map((a) => a.split('=')).map(([k, v]) => [k, Number(v)]));
const read = (name) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  } catch {
    return null;
  }
};
const steps = Object.fromEntries(Object.keys(codes).map((name) => [name, read(name)]));
let system = '';
try {
  system = fs.readFileSync(path.join(dir, 'system.txt'), 'utf8');
} catch {}
const gpu = /^gpu: (.*)$/m.exec(system)?.[1] ?? 'unknown';
const ops = steps.ops;
const train = steps.train;
const unavailable = ops?.unavailable ?? train?.unavailable ?? null;
const state = (name) => {
  const code = codes[name];
  return code === 0 ? 'passed' : code === 2 ? 'unavailable' : code === 3 ? 'addon does not load or input missing'
    : !steps[name] ? `crashed or timed out (exit code ${code})` : 'failed';
};
const passed = Object.values(codes).every((c) => c === 0);
const results = {
  date: new Date().toISOString(),
  gpu,
  backends: ops?.backends ?? train?.backends ?? null,
  unavailable,
  passed,
  steps: Object.fromEntries(Object.keys(codes).map((name) => [name, state(name)])),
  ...steps,
};
fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');

const exp = (x) => (x === null || x === undefined ? '-' : Number(x).toExponential(1));
const rows = [];
const row = (what, value, verdict = '') => rows.push([what, value, verdict]);
row('gpu', gpu);
if (ops?.device === 'cpu' || train?.device === 'cpu') row('device', 'cpu (dry run: TINYNN_*_DEVICE=cpu; the "cuda" side ran on the cpu)');
if (ops?.loadError) row('addon', `does not load: ${ops.loadError}`, 'FAIL');
if (unavailable) row('cuda', `unavailable: ${unavailable}`, 'FAIL');
for (const name of Object.keys(codes)) {
  const s = state(name);
  if (s !== 'passed' && s !== 'failed' && !unavailable) row(name, s, 'FAIL');
}

// check-ops: the primitives against the CPU, the error paths, the executors against each other.
const failures = [];
if (ops?.results?.length) {
  const g = ops.groups ?? {};
  const count = (x) => (x ? `${x.passed}/${x.passed + x.failed} passed` : 'not run');
  const verdict = (x) => (!x ? '' : x.failed ? 'FAIL' : 'ok');
  row('op checks vs cpu', `${count(g.op)}, max rel err ${exp(g.op?.maxRelErr)} (tol ${ops.tolerance})`, verdict(g.op));
  row('error paths', count(g.error), verdict(g.error));
  row('step checks (executors)', `${count(g.step)}, vs cpu ${exp(g.step?.maxRelErr)} (tol ${ops.tolerance}), ` +
    `fused vs composed ${exp(g.step?.maxFusedVsComposed)} (tol ${ops.fusedTolerance})`, verdict(g.step));
  row('check-ops time', `${ops.seconds} s (op ${g.op?.seconds ?? '-'} s, step ${g.step?.seconds ?? '-'} s), seed ${ops.seed}` +
    `${ops.filter ? `, filter /${ops.filter}/` : ''}`);
  for (const r of ops.results) if (!r.ok) failures.push(`${r.name}: ${r.detail}`);
}

// train: the checks (accuracy, executors, eager agreement, reproducibility) ... The timed runs'
// checks ("batch B, config: ...") in one row; their numbers are in the epoch-time table below.
const timed = (train?.checks ?? []).filter((c) => /^batch \d+, /.test(c.name));
for (const c of train?.checks ?? []) {
  if (!c.ok) failures.push(`${c.name}: ${c.detail}`);
  if (!timed.includes(c)) row(c.name, c.detail.length > 110 ? `${c.detail.slice(0, 107)}...` : c.detail, c.ok ? 'ok' : 'FAIL');
}
if (timed.length) {
  const bad = timed.filter((c) => !c.ok);
  row('timed configurations', `${timed.length - bad.length}/${timed.length} checks passed (executor as asked` +
    `${train.device === 'cuda' ? ', training accuracy >= 95 %' : ''})`, bad.length ? 'FAIL' : 'ok');
}
row('result', passed ? 'PASS' : unavailable ? 'CUDA unavailable' : 'FAIL');

const printTable = (table) => {
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const r of table) console.log(`  ${r.map((c, i) => (i + 1 < r.length ? c.padEnd(widths[i]) : c)).join('  ')}`.trimEnd());
};
console.log(`\ntinynn gpu-check ${results.date.slice(0, 10)} (results: ${path.join(dir, 'results.json')})`);
printTable(rows);

// ... and the epoch times, one row per configuration, one column per batch size.
const timings = train?.timings ?? [];
if (timings.length) {
  const batches = [...new Set(timings.map((t) => t.batchSize))].sort((a, b) => a - b);
  const configs = [...new Set(timings.map((t) => t.config))];
  const steady = timings[0].epochSeconds.length > 2 ? `median of the last ${timings[0].epochSeconds.length - 2} of ${timings[0].epochSeconds.length} epochs` : `${timings[0].epochSeconds.length} epoch`;
  const table = [[`epoch time (${steady})`, 'executor', ...batches.map((b) => `batch ${b}`)]];
  for (const config of configs) {
    const cells = batches.map((b) => {
      const t = timings.find((x) => x.config === config && x.batchSize === b);
      if (!t) return '-';
      const base = timings.find((x) => x.config === 'default' && x.batchSize === b);
      const ratio = base && base !== t ? `, ${(t.medianSeconds / base.medianSeconds).toFixed(2)}x default` : '';
      const target = t.target == null ? '' : ` (target ${1000 * t.target} ms ${t.medianSeconds <= t.target ? 'met' : 'MISSED'})`;
      return `${t.ms.toFixed(2)} ms, ${t.microsecondsPerStep} us/step${ratio}, acc ${(100 * t.finalAccuracy).toFixed(1)} %${target}`;
    });
    const executor = timings.find((x) => x.config === config)?.executor ?? '-';
    table.push([config, executor, ...cells]);
  }
  console.log('');
  printTable(table);
}
if (failures.length) {
  console.log(`\nfailures (${failures.length}${failures.length > 20 ? ', first 20' : ''}):`);
  for (const f of failures.slice(0, 20)) console.log(`  ${f}`);
}
process.exit(passed ? 0 : unavailable ? 2 : ops?.loadError ? 3 : 1);
