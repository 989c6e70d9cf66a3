#!/usr/bin/env node
// npm run bench: trains the 784-128-10 MLP on MNIST with tinynn (training driver and eager loop),
// PyTorch and TensorFlow.js, side by side in one invocation, and writes the seconds per epoch,
// samples/s, fraction of the fp32 peak and test accuracy of each to
// bench/results/<machine>-<date>.{json,md,svg}. `node bench/run.mjs --help` for the options.
//
// Needs dist/ and the addon (npm install), the PyTorch venv and tfjs (npm run bench:setup). On a
// machine with an NVIDIA GPU the CUDA systems run too; there, without node_modules, it runs with
// TINYNN_MNIST_DIR set and python3 (or $TINYNN_BENCH_PYTHON) having torch; tfjs is then skipped.
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { machineSlug, today } from './machine.mjs';
import { initialWeights } from './model-spec.mjs';
import { parseOptions } from './options.mjs';
import { PeakTracker } from './peak.mjs';
import { resultsObject, writeResults } from './report/write-results.mjs';
import { timeRoundRobin } from './schedule.mjs';
import { availableSystems } from './systems/available.mjs';
import { tinynn } from './tinynn-package.mjs';

const argv = process.argv.slice(2);
const opts = parseOptions(argv);
const log = (line) => console.log(line);
const loadBefore = os.loadavg()[0];

const data = await tinynn.datasets.mnist({ normalize: true });
const { selected, skipped, peer, tf } = await availableSystems(opts, data);
for (const s of skipped) log(`skipped ${s.systems.join(', ')}: ${s.reason}`);
if (selected.length === 0) {
  console.error('no system to run: every selected system was skipped (see above)');
  process.exit(1);
}

const usesGpu = selected.some((s) => s.name.includes('-cuda'));
const peak = new PeakTracker(peer, { cpu: selected.some((s) => !s.name.includes('-cuda')), gpu: usesGpu && !!peer?.info.cuda });
const measurePeak = async () => {
  await peak.measure();
  for (const [device, p] of Object.entries(peak.peaks)) if (p) log(`  ${device} fp32 peak so far: ${p.gflops.toFixed(1)} GFLOP/s (${p.method})`);
};
log('measuring the fp32 peak...');
await measurePeak();

const weights = initialWeights();
const records = [];
for (const batchSize of opts.batchSizes) {
  log(`batch ${batchSize}: ${selected.map((s) => s.name).join(', ')}`);
  records.push(...await timeRoundRobin(selected, { batchSize, epochs: opts.epochs, weights, log }));
  await measurePeak();
}
peer?.close();

const results = resultsObject({
  machine: machineSlug(usesGpu ? peer?.info.cudaDevice : null), date: today(), argv, opts, selected, skipped, peer, tf,
  peaks: peak.peaks, records, loadAverage: { before: +loadBefore.toFixed(2), after: +os.loadavg()[0].toFixed(2) },
});
const { markdown, base } = writeResults(results, opts.out ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'results'));
log(`\n${markdown}\nwritten: ${base}.json, .md, .svg`);
