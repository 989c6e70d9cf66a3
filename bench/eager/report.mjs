// The results of bench/eager.mjs as bench/results/eager-<machine>-<date>[-quick|-full].json
// (everything) and .md (the tables).
import * as fs from 'fs';
import * as path from 'path';
import { machineInfo } from '../machine.mjs';
import { JOB } from './net.mjs';

const sig = (x, digits = 3) => Number(x.toPrecision(digits)).toLocaleString('en-US');

/** The results object: setup, method, records, ratios and profiles. */
export function resultsObject({ machine, date, argv, opts, peer, peerError, microShape, train, micro, ratios, profiles, foreignLoad, loadAverage }) {
  return {
    machine,
    date,
    command: ['npm run bench:eager', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    info: { ...machineInfo(), tinynnThreads: Number(process.env.TINYNN_NUM_THREADS) || machineInfo().cores,
      torch: peer?.info.torch ?? null, torchThreads: peer?.info.threads ?? null, python: peer?.info.python ?? null },
    method: {
      train: opts.train ? {
        job: JOB,
        timing: `all systems prepared, then ${opts.steps}-step rounds round-robin, one round of each system in turn, each round ` +
          `starting one system further on: 1 warm-up round, then ${opts.rounds} timed rounds; the median round counts (the best ` +
          'round is shown too: on a shared host, noise only slows a round down). ' +
          'Each round continues the shuffled epoch where the last stopped. PyTorch runs in a long-lived child process ' +
          '(bench/eager_peer.py) and times its own loop; tinynn is timed around its loop. Both: one process, threads = cores.',
        steps: opts.steps, rounds: opts.rounds,
        phases: 'one extra round per system with every phase of the step timed apart (not in the medians)',
        accuracy: 'test loss and accuracy in eval mode (no dropout) on the 10,000 test images, before the first round (equal on ' +
          'every side: the same initial weights) and after all rounds (these differ: each side draws its own shuffle and dropout ' +
          'masks); a sanity check, not a gate.',
      } : null,
      micro: opts.micro ? {
        job: `a, b: randn [${microShape.join(', ')}] float32 with requiresGrad; each case a plain loop on one thread (PyTorch's ` +
          'loop in Python, tinynn\'s in JS); gradients accumulate into a.grad and b.grad (dropped after each round)',
        timing: `per PyTorch loop, tinynn's variants of it and PyTorch's interleaved round-robin: 1 warm-up round, then ` +
          `${opts.microRounds} timed rounds of ${opts.microIterations} iterations each; the median round counts, ÷ iterations ` +
          '(the best round is shown too).',
        iterations: opts.microIterations, rounds: opts.microRounds,
      } : null,
      threads: 'tinynn: its thread pool, one thread per CPU (TINYNN_NUM_THREADS unset); PyTorch: torch.set_num_threads(cores)',
      quiet: (opts.wait ? 'before each round (warm-up included), a wait (up to 30 s) until the whole machine is idle (< 5 % busy over ' +
        '300 ms)' : 'no wait for an idle machine (--no-wait)') + '; the CPU time other processes took during the timed rounds is ' +
        'measured (/proc/stat less this process and the PyTorch peer) and shown with each system (— where its rounds add up to under ' +
        "1 s: too short for /proc/stat's 10 ms ticks)",
    },
    skipped: peerError ? [{ systems: ['pytorch-cpu', 'pytorch-cpu-dataloader', 'pytorch micro'], reason: peerError }] : [],
    loadAverage,
    foreignLoad,
    train,
    micro,
    ratios,
    profiles,
  };
}

/** The share of the CPUs other processes took over a record's timed rounds (and in its worst round of ≥ 0.5 s), as text. */
const others = (r) => (r.foreignShare === null || r.foreignShare === undefined ? '—'
  : `${(100 * r.foreignShare).toFixed(1)} %${r.worstRoundForeignShare === null ? '' : ` (worst ${(100 * r.worstRoundForeignShare).toFixed(0)} %)`}`);

/** Records whose timed rounds shared the CPUs: others took ≥ 5 % over them all, or ≥ 20 % in one. */
export function disturbed(results) {
  return [...results.train.records, ...results.micro.records].filter((r) => r.foreignShare >= 0.05 || r.worstRoundForeignShare >= 0.2);
}

function trainTable(train) {
  const rows = ['| system | steps/s (best round) | ms / step | samples/s | last training loss | test loss before → after | test accuracy before → after | CPU taken by other processes (timed rounds) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of train.records) {
    if (r.error) rows.push(`| ${r.system} | failed: ${r.error.replace(/\|/g, '\\|')} | | | | | | |`);
    else rows.push(`| ${r.system} | ${sig(r.stepsPerSecond)} (${sig(r.bestStepsPerSecond)}) | ${r.msPerStep.toFixed(3)} | ${sig(r.samplesPerSecond)} | ` +
      `${r.lastLoss === null ? '—' : r.lastLoss.toFixed(3)} | ${r.initial.loss.toFixed(5)} → ${r.final.loss.toFixed(4)} | ` +
      `${(100 * r.initial.accuracy).toFixed(2)} % → ${(100 * r.final.accuracy).toFixed(2)} % | ${others(r)} |`);
  }
  return rows.join('\n');
}

function phaseTable(train) {
  if (train.phases.length === 0) return '';
  const names = [...new Set(train.phases.flatMap((p) => Object.keys(p.msPerStep)))];
  const rows = [`| system | ${names.join(' | ')} | total |`, `|---|${names.map(() => '---:').join('|')}|---:|`];
  for (const p of train.phases) {
    rows.push(`| ${p.system} | ${names.map((n) => (p.msPerStep[n] === undefined ? '—' : p.msPerStep[n].toFixed(3))).join(' | ')} | ` +
      `${((1000 * p.seconds) / p.steps).toFixed(3)} |`);
  }
  return rows.join('\n');
}

function microTable(micro) {
  const rows = ['| case | system | loop | µs / iteration (best round) | CPU taken by other processes (timed rounds) |', '|---|---|---|---:|---:|'];
  for (const r of micro.records) {
    rows.push(`| ${r.group} | ${r.system}${r.case === r.group ? '' : ` (${r.case})`} | ${r.label} | ` +
      `${r.error ? `failed: ${r.error.replace(/\|/g, '\\|')}` : `${r.microsPerIteration.toFixed(2)} (${r.bestMicrosPerIteration.toFixed(2)})`} | ${others(r)} |`);
  }
  return rows.join('\n');
}

function ratioLines(ratios) {
  return ratios.map((q) => {
    const target = !q.target ? '' : q.target.atLeast ? ` (target ≥ ${q.target.atLeast}: ${q.met ? 'met' : 'MISSED'})`
      : ` (target ≤ ${q.target.atMost}: ${q.met ? 'met' : 'MISSED'})`;
    return `- ${q.label}: **${q.ratio.toFixed(2)}×**${target} (medians: ${q.detail}; best rounds: ${q.bestRoundsRatio.toFixed(2)}×)`;
  }).join('\n');
}

function profileSection(p) {
  const top = ['| function | where | self ms | % |', '|---|---|---:|---:|',
    ...p.top.map((t) => `| ${t.function.replace(/\|/g, '\\|')} | ${t.where || '(native / VM)'} | ${t.selfMs} | ${t.percent} |`)];
  const kinds = p.byKind.map((k) => `${k.kind} ${k.percent} %`).join('; ');
  return [`### ${p.what}: ${p.totalMs} ms sampled`, '', `By kind: ${kinds}.`, '', 'Top self time:', '', ...top, ''].join('\n');
}

/** The markdown document for a results object. */
export function resultsMarkdown(results) {
  const { info, method } = results;
  const software = [`node ${info.node}`, info.torch && `PyTorch ${info.torch} (${info.torchThreads} threads, Python ${info.python})`]
    .filter(Boolean).join(', ');
  const parts = [
    `# tinynn eager benchmark: ${results.machine}, ${results.date}`,
    '',
    `\`${results.command}\` on ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, ${info.os}; ${software}; ` +
      `tinynn ${info.tinynnThreads} threads. Load average (1 min) before / after: ${results.loadAverage.before} / ${results.loadAverage.after}` +
      (results.foreignLoad ? `; other processes took ${(100 * results.foreignLoad.foreignShare).toFixed(1)} % of the ${results.foreignLoad.cpus} CPUs ` +
        `during the ${results.foreignLoad.wallSeconds} s of timed rounds (/proc/stat less this process and the PyTorch peer).` : '.'),
    '',
    ...results.skipped.map((s) => `- Skipped ${s.systems.join(', ')}: ${s.reason}`),
    `- Quiet: ${method.quiet}.`,
    ...(disturbed(results).length ? [`- **Disturbed**: other processes took ≥ 5 % of the CPUs over the timed rounds (or ≥ 20 % in one) of ${disturbed(results)
      .map((r) => r.case ? `${r.system} ${r.case}` : r.system).join(', ')}: those numbers are suspect (PyTorch's OpenMP threads ` +
      'suffer most from a shared CPU); run again on an idle machine.'] : []),
    '',
    '## Ratios',
    '',
    ratioLines(results.ratios) || '(no pair of systems to compare ran)',
    '',
  ];
  if (method.train) {
    parts.push('## 1. Eager training of a custom module', '', `- Job: ${method.train.job}.`, `- Method: ${method.train.timing}`,
      `- Test accuracy: ${method.train.accuracy}`, '', trainTable(results.train), '',
      ...results.train.records.filter((r) => !r.error).map((r) => `- ${r.system}: ${r.description}`), '',
      `Where a step's time goes (ms per step; ${method.train.phases}):`, '', phaseTable(results.train), '');
  }
  if (method.micro) {
    parts.push('## 2. One small eager op', '', `- Job: ${method.micro.job}.`, `- Method: ${method.micro.timing}`, '',
      microTable(results.micro), '');
  }
  if (results.profiles.length) {
    parts.push('## Profile of tinynn (a target was missed, or --profile)', '',
      'V8 sampling profiler (node:inspector, 100 µs), one extra untimed run. "native" is time inside the addon\'s ' +
      'N-API functions (the kernels and the binding) and V8 builtins; "program" is V8 itself (the API call boundary, compiling).', '',
      ...results.profiles.map(profileSection));
  }
  return parts.join('\n');
}

/** Writes <dir>/eager-<machine>-<date><suffix>.{json,md}; returns the markdown and the common path prefix. */
export function writeResults(results, dir, suffix = '') {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `eager-${results.machine}-${results.date}${suffix}`);
  const markdown = resultsMarkdown(results);
  const { profiles, ...rest } = results;
  // The raw profiles stay in the temporary directory: only their summaries are kept.
  fs.writeFileSync(`${base}.json`, JSON.stringify({ ...rest, profiles: profiles.map(({ file, ...p }) => p) }, null, 2) + '\n');
  fs.writeFileSync(`${base}.md`, markdown);
  return { markdown, base };
}
