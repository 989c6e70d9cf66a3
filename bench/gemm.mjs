#!/usr/bin/env node
// CPU GEMM benchmark: GFLOP/s of the five GEMMs of a 784-128-10 MLP training step at batch 64
// and 256, next to this machine's fp32 FMA peak measured on all pool threads.
//
//   node bench/gemm.mjs [--seconds S] [--json]      (npm run bench:gemm)
//
// Needs the compiled package (dist/, the addon). TINYNN_NUM_THREADS sets the threads,
// TINYNN_GEMM=avx2|portable forces a kernel set, TINYNN_ADDON points at another addon build.
import { createRequire } from 'module';
import * as os from 'os';

const require = createRequire(import.meta.url);
const { native } = require('../dist/native.js');

const USAGE = 'usage: node bench/gemm.mjs [--seconds S] [--json]\n' +
  '  --seconds S  time spent on each measurement, default 0.3\n' +
  '  --json       print the results as JSON instead of a table';
let json = false;
let budget = 0.3;  // seconds per measured shape and per peak run
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--json') json = true;
  else if (args[i] === '--seconds' && Number(args[i + 1]) > 0) budget = Number(args[++i]);
  else {
    console.error(`${args[i] === '-h' || args[i] === '--help' ? '' : `bad argument '${args[i]}'\n`}${USAGE}`);
    process.exit(args[i] === '-h' || args[i] === '--help' ? 0 : 2);
  }
}

// [name, M×N×K, transA, transB, a shape, b shape] per batch size B; c is [M, N]. Linear weights
// are stored [out, in], so the forward GEMMs read them transposed.
const shapes = (B) => [
  ['layer 1 forward y1 = x·W1ᵀ', 'B×128×784', false, true, [B, 784], [128, 784]],
  ['layer 1 weight grad dW1 = dy1ᵀ·x', '128×784×B', true, false, [B, 128], [B, 784]],
  ['layer 2 forward y2 = h·W2ᵀ', 'B×10×128', false, true, [B, 128], [10, 128]],
  ['layer 2 weight grad dW2 = dy2ᵀ·h', '10×128×B', true, false, [B, 10], [B, 128]],
  ['layer 2 input grad dh = dy2·W2', 'B×128×10', false, false, [B, 10], [10, 128]],
];

let seed = 12345;
function randomTensor(shape) {
  const data = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    data[i] = seed / 2 ** 31 - 1;
  }
  return new native.Tensor(data, shape, 'cpu');
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

// Seconds per call: the best of 7 batches of calls (the least disturbed by other processes on
// the machine), after a warm-up of a third of the budget (the clock ramps up, the pool wakes).
function timeCall(fn) {
  let calls = 1;
  const warmEnd = now() + budget / 3;
  while (now() < warmEnd) {
    const t0 = now();
    for (let i = 0; i < calls; i++) fn();
    if (now() - t0 < budget / 20) calls *= 2;
  }
  const samples = [];
  for (let s = 0; s < 7; s++) {
    const t0 = now();
    for (let i = 0; i < calls; i++) fn();
    samples.push((now() - t0) / calls);
  }
  return Math.min(...samples);
}

// GFLOP/s: the best of three runs, like the GEMM timings.
function fmaPeak(isa) {
  return Math.max(...[0, 1, 2].map(() => native.bench.fmaPeak(budget, isa)));
}

function benchShape([name, dims, ta, tb, aShape, bShape]) {
  const M = ta ? aShape[1] : aShape[0], K = ta ? aShape[0] : aShape[1];
  const N = tb ? bShape[0] : bShape[1];
  const a = randomTensor(aShape), b = randomTensor(bShape), c = randomTensor([M, N]);
  const seconds = timeCall(() => native.ops.gemm(a, b, c, ta, tb, 1, 0));
  for (const t of [a, b, c]) t.dispose();
  const gflops = (2 * M * N * K) / seconds / 1e9;
  return { name, dims, M, N, K, transA: ta, transB: tb, us: seconds * 1e6, gflops };
}

// The machine's peak is that of its widest ISA; the % columns divide by the peak of the ISA the
// GEMM kernels use (the same one unless TINYNN_GEMM forces a narrower set).
const bench = native.bench;
const peakIsa = bench.fmaPeakIsa();
const kernel = bench.gemmKernel();
const peaks = { [peakIsa]: fmaPeak(peakIsa) };
if (peakIsa === 'avx512') peaks.avx2 = fmaPeak('avx2');
if (!(kernel in peaks)) peaks[kernel] = fmaPeak(kernel);
const peak = peaks[kernel];
const one = [randomTensor([1, 1]), randomTensor([1, 1]), randomTensor([1, 1])];
const callUs = timeCall(() => native.ops.gemm(one[0], one[1], one[2], false, false, 1, 0)) * 1e6;
for (const t of one) t.dispose();
const batches = [64, 256].map((B) => ({ batch: B, shapes: shapes(B).map(benchShape) }));

const report = {
  date: new Date().toISOString().slice(0, 10),
  cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
  threads: bench.threads(),
  kernel,
  peaks,
  machinePeak: { isa: peakIsa, gflops: peaks[peakIsa] },
  callOverheadUs: callUs,
  batches,
};

if (json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  const f1 = (x) => x.toFixed(1);
  const pct = (x) => `${((100 * x) / peak).toFixed(0)} %`;
  console.log(`tinynn CPU GEMM: ${report.cpu}, ${report.threads} threads, ${report.date}`);
  console.log(`GEMM kernels: ${kernel}`);
  const others = Object.keys(peaks).filter((isa) => isa !== peakIsa);
  console.log(`fp32 FMA peak, all threads: ${peakIsa} ${f1(peaks[peakIsa])} GFLOP/s` +
    others.map((isa) => `, ${isa} ${f1(peaks[isa])} GFLOP/s`).join('') + ` (% below: of ${kernel})`);
  console.log(`JS→native call overhead, included below: ${callUs.toFixed(2)} µs\n`);
  console.log('| GEMM | M×N×K | B=64 µs | GFLOP/s | % peak | B=256 µs | GFLOP/s | % peak |');
  console.log('|---|---|--:|--:|--:|--:|--:|--:|');
  const [small, large] = batches.map((b) => b.shapes);
  small.forEach((s, i) => {
    const l = large[i];
    console.log(`| ${s.name} | ${s.dims} | ${f1(s.us)} | ${f1(s.gflops)} | ${pct(s.gflops)} ` +
      `| ${f1(l.us)} | ${f1(l.gflops)} | ${pct(l.gflops)} |`);
  });
  const machine = ((100 * large[0].gflops) / peaks[peakIsa]).toFixed(0);
  console.log(`\nlayer 1 forward at B=256: ${machine} % of the machine's measured peak (target >= 60 %)`);
}
