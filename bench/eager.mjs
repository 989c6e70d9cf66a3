#!/usr/bin/env node
// npm run bench:eager: tinynn's eager path against PyTorch's (CPU), side by side in one invocation:
//  1. training a custom module the fused driver does not cover (784-256-128-10, GELU, dropout in
//     train mode; bench/eager/net.mjs) with the loop a PyTorch user writes: steps/s;
//  2. one small eager op, c = a.add(b) on [64, 128] tensors that require grad, then
//     c.sum().backward(), and the forward alone: µs per iteration.
// Rounds of every system alternate (one warm-up round, then timed rounds; the median counts), as in
// bench/run.mjs. Results: bench/results/eager-<machine>-<date>[-quick|-full].{json,md}, with a CPU
// profile of tinynn's side when it misses a target. `node bench/eager.mjs --help` for the options.
//
// Needs dist/ and the addon (npm install) and the PyTorch venv with safetensors (npm run bench:setup).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { cpuProfile, summarize, writeProfile } from './eager/cpu-profile.mjs';
import { rounded, waitQuiet, watchForeignLoad } from './eager/foreign-load.mjs';
import { interleave, median } from './eager/interleave.mjs';
import { MICRO_CASES, tinynnMicro, tinynnTrainSystem, writeInitialWeights, TRAIN_SEED } from './eager/net.mjs';
import { parseOptions } from './eager/options.mjs';
import { pytorchMicro, pytorchTrainSystem, startEagerPeer } from './eager/peer.mjs';
import { resultsObject, writeResults } from './eager/report.mjs';
import { cores, machineSlug, today } from './machine.mjs';
import { mnistDirectory, tinynn } from './tinynn-package.mjs';

const MICRO_SHAPE = [64, 128];
const TRAIN_TARGET = 2;      // tinynn steps/s ÷ PyTorch steps/s, at least
const MICRO_TARGET = 0.5;    // tinynn µs ÷ PyTorch µs for add + sum + backward, at most

const argv = process.argv.slice(2);
const opts = parseOptions(argv);
const log = (line) => console.log(line);
const loadBefore = os.loadavg()[0];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-bench-eager-'));

const data = await tinynn.datasets.mnist({ normalize: true });
let peer = null;
let peerError = null;
try {
  peer = await startEagerPeer({ mnistDir: mnistDirectory(), scale: data.train.scale, shift: data.train.shift, threads: cores() });
  log(`PyTorch ${peer.info.torch}, ${peer.info.threads} threads; tinynn ${cores()} threads (one per CPU); CPU: ${os.cpus()[0]?.model.trim()}`);
} catch (err) {
  peerError = `${err.message}; run npm run bench:setup (the venv needs torch and safetensors)`;
  log(`PyTorch skipped: ${peerError}`);
}

// From here to the profiles: how much CPU other processes took, in all and in each round; unless
// --no-wait, each round waits (up to 30 s) for the machine to be idle first.
const ownPids = [process.pid, ...(peer ? [peer.child.pid] : [])];
const foreign = watchForeignLoad(ownPids);
const pacing = { watch: () => watchForeignLoad(ownPids), quiet: opts.wait ? () => waitQuiet({ windowMs: 300, threshold: 0.05, maxSeconds: 30 }) : null };

// 1. Training.
const train = { records: [], phases: [] };
let trainTiny = null;
if (opts.train) {
  const weightsFile = path.join(scratch, 'initial.safetensors');
  await writeInitialWeights(weightsFile);
  trainTiny = tinynnTrainSystem(data);
  const candidates = [trainTiny, ...(peer ? ['pytorch-cpu', 'pytorch-cpu-dataloader'].map((n) => pytorchTrainSystem(peer, n)) : [])];
  // Test accuracy and loss before training: equal on every side when the initial weights are the same.
  const initialTest = new Map();
  const systems = [];
  for (const s of candidates) {
    try {
      await s.prepare(weightsFile);
      initialTest.set(s, await s.evaluate());
      systems.push(s);
    } catch (err) {
      train.records.push({ system: s.name, description: s.description, error: `prepare: ${err.message}` });
      log(`  ${s.name}: FAILED to prepare: ${err.message}`);
    }
  }
  log(`training, ${opts.steps} steps of batch 64 per round: ${systems.map((s) => s.name).join(', ')}`);
  const timed = await interleave(systems, {
    rounds: opts.rounds, log, label: 'train', ...pacing,
    round: (s) => s.run(opts.steps),
    format: (s, r) => `${s.name} ${(r.steps / r.seconds).toFixed(0)} steps/s`,
  });
  // Where a step's time goes: one more round of each, every phase timed apart (not in the medians).
  for (const s of systems) {
    if (timed.get(s).error) continue;
    const { seconds, steps, phases } = await s.phases(opts.steps);
    train.phases.push({ system: s.name, steps, seconds, msPerStep: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, +(1000 * v / steps).toFixed(4)])) });
  }
  for (const s of systems) {
    const t = timed.get(s);
    if (t.error) {
      train.records.push({ system: s.name, description: s.description, error: t.error });
      continue;
    }
    const medianSeconds = median(t.seconds);
    const bestSeconds = Math.min(...t.seconds);
    train.records.push({ system: s.name, description: s.description, stepsPerRound: opts.steps, seconds: t.seconds,
      foreignShare: t.foreignShare, worstRoundForeignShare: t.worstRound, waitedSeconds: +t.waited.toFixed(1), medianSeconds,
      stepsPerSecond: opts.steps / medianSeconds, bestStepsPerSecond: opts.steps / bestSeconds, samplesPerSecond: t.last.samples / medianSeconds,
      msPerStep: (1000 * medianSeconds) / opts.steps, lastLoss: t.last.lastLoss, initial: initialTest.get(s), final: await s.evaluate() });
  }
  for (const s of systems) if (s !== trainTiny) await s.release();
  if (!systems.includes(trainTiny)) trainTiny = null;
}

// 2. The micro-benchmark.
const micro = { records: [] };
let tinyMicro = null;
if (opts.micro) {
  tinyMicro = tinynnMicro(...MICRO_SHAPE, TRAIN_SEED);
  const torchMicro = peer ? pytorchMicro(peer) : null;
  await torchMicro?.prepare(...MICRO_SHAPE, TRAIN_SEED);
  // One group per PyTorch loop: tinynn's variants of it and PyTorch's, interleaved.
  const groups = [...new Set(Object.values(MICRO_CASES).map((c) => c.peer))];
  for (const group of groups) {
    const systems = Object.entries(MICRO_CASES).filter(([, c]) => c.peer === group)
      .map(([kase, c]) => ({ name: `tinynn ${kase}`, system: 'tinynn', kase, label: c.label, run: (n) => tinyMicro.run(kase, n) }));
    if (torchMicro) systems.push({ name: `pytorch ${group}`, system: 'pytorch', kase: group, label: MICRO_CASES[group].label, run: (n) => torchMicro.run(group, n) });
    const timed = await interleave(systems, {
      rounds: opts.microRounds, log, label: `micro ${group}`, ...pacing,
      round: (s) => s.run(opts.microIterations),
      format: (s, r) => `${s.name} ${(1e6 * r.seconds / r.iterations).toFixed(2)} µs`,
    });
    for (const s of systems) {
      const t = timed.get(s);
      if (t.error) {
        micro.records.push({ group, system: s.system, case: s.kase, label: s.label, error: t.error });
        continue;
      }
      micro.records.push({ group, system: s.system, case: s.kase, label: s.label, iterationsPerRound: opts.microIterations,
        seconds: t.seconds, foreignShare: t.foreignShare, worstRoundForeignShare: t.worstRound, waitedSeconds: +t.waited.toFixed(1),
        microsPerIteration: (1e6 * median(t.seconds)) / opts.microIterations, bestMicrosPerIteration: (1e6 * Math.min(...t.seconds)) / opts.microIterations });
    }
  }
}

// Ratios and targets.
const trainRec = (name) => train.records.find((r) => r.system === name && !r.error);
const microRec = (system, kase) => micro.records.find((r) => r.system === system && r.case === kase && !r.error);
const ratios = [];
for (const den of ['pytorch-cpu', 'pytorch-cpu-dataloader']) {
  const [a, b] = [trainRec('tinynn-cpu-eager'), trainRec(den)];
  if (a && b) ratios.push({ part: 'train', label: `tinynn steps/s ÷ ${den} steps/s`, ratio: a.stepsPerSecond / b.stepsPerSecond,
    bestRoundsRatio: a.bestStepsPerSecond / b.bestStepsPerSecond,
    detail: `${a.stepsPerSecond.toFixed(1)} vs ${b.stepsPerSecond.toFixed(1)} steps/s`,
    target: den === 'pytorch-cpu' ? { atLeast: TRAIN_TARGET } : null });
}
for (const [kase, c] of Object.entries(MICRO_CASES)) {
  const [a, b] = [microRec('tinynn', kase), microRec('pytorch', c.peer)];
  if (a && b) ratios.push({ part: 'micro', label: `tinynn µs ÷ PyTorch µs, ${kase}`, ratio: a.microsPerIteration / b.microsPerIteration,
    bestRoundsRatio: a.bestMicrosPerIteration / b.bestMicrosPerIteration,
    detail: `${a.microsPerIteration.toFixed(2)} vs ${b.microsPerIteration.toFixed(2)} µs per iteration`,
    target: kase === 'addSumBackward' ? { atMost: MICRO_TARGET } : null });
}
for (const q of ratios) if (q.target) q.met = q.target.atLeast ? q.ratio >= q.target.atLeast : q.ratio <= q.target.atMost;
const missed = ratios.filter((q) => q.target && !q.met);

const foreignLoad = rounded(foreign.stop());
if (foreignLoad) log(`other processes used ${(100 * foreignLoad.foreignShare).toFixed(1)} % of the ${foreignLoad.cpus} CPUs during the timed part`);

// A CPU profile of tinynn's side (not timed with the rest) when it misses a target, or when asked.
const profiles = [];
if (opts.profile === 'always' || (opts.profile === 'auto' && missed.length > 0)) {
  const profileDir = path.join(scratch, 'profiles');
  if (trainTiny && train.records.some((r) => r.system === 'tinynn-cpu-eager' && !r.error)) {
    log(`profiling tinynn's training loop (${opts.steps} steps)...`);
    const profile = await cpuProfile(() => trainTiny.run(opts.steps));
    profiles.push({ what: `tinynn training loop, ${opts.steps} steps`, file: writeProfile(profile, path.join(profileDir, 'train.cpuprofile')), ...summarize(profile) });
  }
  if (tinyMicro) {
    const n = opts.microIterations * 5;
    log(`profiling tinynn's addSumBackward (${n} iterations)...`);
    const profile = await cpuProfile(() => tinyMicro.run('addSumBackward', n));
    profiles.push({ what: `tinynn micro addSumBackward, ${n} iterations`, file: writeProfile(profile, path.join(profileDir, 'micro.cpuprofile')), ...summarize(profile) });
  }
}
trainTiny?.release();
tinyMicro?.dispose();
peer?.close();
// The scratch directory goes, unless it holds the raw profiles.
if (profiles.length) fs.rmSync(path.join(scratch, 'initial.safetensors'), { force: true });
else fs.rmSync(scratch, { recursive: true, force: true });

const suffix = opts.mode === 'default' ? '' : `-${opts.mode}`;
const results = resultsObject({
  machine: machineSlug(null), date: today(), argv, opts, peer, peerError, microShape: MICRO_SHAPE, train, micro, ratios, profiles,
  foreignLoad, loadAverage: { before: +loadBefore.toFixed(2), after: +os.loadavg()[0].toFixed(2) },
});
const { markdown, base } = writeResults(results, opts.out ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'results'), suffix);
log(`\n${markdown}\nwritten: ${base}.json, ${base}.md`);
if (profiles.length) log(`raw CPU profiles (Chrome DevTools): ${profiles.map((p) => p.file).join(', ')}`);
