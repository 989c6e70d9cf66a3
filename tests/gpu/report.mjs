// Gathers the GPU check's results into one JSON and prints the summary table (last, by design).
//   node tests/gpu/report.mjs OUT_DIR STEP=EXIT_CODE ...   (steps: ops, ops-cluster, train, train-unfused,
//   train-unfused-step, train-cluster, train-tf32;
//   each STEP's results are read from OUT_DIR/STEP.json)
// Exit code: 0 when every step passed, 2 when CUDA was unavailable, else 1.
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
  return code === 0 ? 'passed' : code === 2 ? 'unavailable' : !steps[name] ? `crashed or timed out (exit code ${code})` : 'failed';
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

const rows = [];
const row = (what, value, verdict = '') => rows.push([what, value, verdict]);
row('gpu', gpu);
if (ops?.device === 'cpu' || train?.device === 'cpu') row('device', 'cpu (dry run: TINYNN_*_DEVICE=cpu)');
if (ops?.loadError) row('addon', `does not load: ${ops.loadError}`, 'FAIL');
if (unavailable) row('cuda', `unavailable: ${unavailable}`, 'FAIL');
// Op-check steps: "ops", and "ops-<setting>" (the same checks under another kernel setting).
const isOps = (name) => name === 'ops' || name.startsWith('ops-');
for (const [name, json] of Object.entries(steps)) {
  if (!isOps(name) || !json?.results?.length) continue;
  const opResults = json.results.filter((r) => !r.name.startsWith('error:'));
  const errResults = json.results.filter((r) => r.name.startsWith('error:'));
  const count = (rs) => `${rs.filter((r) => r.ok).length}/${rs.length} passed`;
  const label = name === 'ops' ? '' : `, ${json.settings ?? name}`;
  row(`op checks vs cpu${label}`, `${count(opResults)}, max rel err ${Number(json.maxRelErr).toExponential(1)} (tol ${json.tolerance})`,
    opResults.every((r) => r.ok) ? 'ok' : 'FAIL');
  row(`error paths${label}`, count(errResults), errResults.every((r) => r.ok) ? 'ok' : 'FAIL');
}
for (const [name, json] of Object.entries(steps)) {
  if (state(name) !== 'passed' && state(name) !== 'failed' && !unavailable) row(name, state(name), 'FAIL');
  if (isOps(name) || !json) continue;
  for (const c of json.checks ?? []) row(c.name, c.detail, c.ok ? 'ok' : 'FAIL');
}
for (const json of Object.values(steps)) {
  for (const t of json?.timings ?? []) {
    const ms = (1000 * t.medianSeconds).toFixed(2);
    const n = t.epochSeconds.length > 2 ? t.epochSeconds.length - 2 : t.epochSeconds.length;
    const verdict = t.target == null ? '' : `target <= ${1000 * t.target} ms ${t.medianSeconds <= t.target ? 'met' : 'missed'}`;
    row(`epoch, batch ${t.batchSize}, ${json.settings}`, `${ms} ms, median of ${n} (${t.microsecondsPerStep} us/step)`, verdict);
  }
}
row('result', passed ? 'PASS' : unavailable ? 'CUDA unavailable' : 'FAIL');

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`\ntinynn gpu-check ${results.date.slice(0, 10)} (results: ${path.join(dir, 'results.json')})`);
for (const [a, b, c] of rows) console.log(`  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd());
process.exit(passed ? 0 : unavailable ? 2 : 1);
