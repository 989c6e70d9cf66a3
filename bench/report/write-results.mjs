// The results of a run as bench/results/<machine>-<date>.json (everything), .md (the tables) and
// .svg (the chart).
import * as fs from 'fs';
import * as path from 'path';
import { machineInfo } from '../machine.mjs';
import { ADAM_LR, FLOP_COUNT_NOTE, FLOPS_PER_SAMPLE, LR, MOMENTUM, TRAIN_SAMPLES } from '../model-spec.mjs';
import { chartSvg } from './chart-svg.mjs';
import { resultsMarkdown } from './markdown.mjs';
import { ratios, withRoofline } from './summary.mjs';

/** The results object: the run's setup, method, peaks, per-system records and ratios. */
export function resultsObject({ machine, date, argv, opts, selected, skipped, peer, tf, peaks, records, loadAverage }) {
  const usesGpu = selected.some((s) => s.name.includes('-cuda'));
  const withPeak = withRoofline(records, peaks);
  return {
    machine,
    date,
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    info: { ...machineInfo(), torch: peer?.info.torch ?? null, torchThreads: peer?.info.threads ?? null,
      tfjs: tf?.version.tfjs ?? null, gpu: usesGpu ? peer?.info.cudaDevice ?? 'CUDA (tinynn)' : null },
    method: {
      job: `784-128-10 MLP (Linear-ReLU-Linear), softmax cross-entropy, SGD lr ${LR} momentum ${MOMENTUM} (systems named *-adam: Adam lr ${ADAM_LR}, PyTorch's defaults otherwise), one set of initial ` +
        `weights (PyTorch's default init) in every system, MNIST standardised, ${TRAIN_SAMPLES.toLocaleString('en-US')} shuffled training samples per epoch.`,
      timing: `per batch size, all systems interleaved round-robin one epoch at a time: 1 warm-up round, then ${opts.epochs} ` +
        'timed rounds; the median epoch counts.' + (peer ? ' PyTorch runs in a long-lived child process (bench/pytorch_peer.py) ' +
        'and times its own epochs; the others are timed around their calls.' : ''),
      tfjs: tf ? `timed on ${opts.tfjsSamples}-sample sub-epochs (model.fit over a window of the training set), scaled to samples/s ` +
        `and ${TRAIN_SAMPLES.toLocaleString('en-US')}-sample epochs; single-threaded (the wasm backend has no threads in Node; tfjs-node is not used).` : null,
      accuracy: 'after the warm-up and timed epochs (TensorFlow.js: sub-epochs), on the 10,000 test images; a sanity check, not a gate.',
      warmupEpochs: 1,
      timedEpochs: opts.epochs,
      batchSizes: opts.batchSizes,
      tfjsSubEpochSamples: opts.tfjsSamples,
    },
    flops: { perSample: FLOPS_PER_SAMPLE, perEpoch: FLOPS_PER_SAMPLE * TRAIN_SAMPLES, counted: FLOP_COUNT_NOTE },
    peaks,
    systems: Object.fromEntries(selected.map((s) => [s.name, s.description])),
    skipped,
    loadAverage,
    records: withPeak,
    ratios: ratios(withPeak),
  };
}

/** Writes <dir>/<machine>-<date>.{json,md,svg}; returns the markdown and the common path prefix. */
export function writeResults(results, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${results.machine}-${results.date}`);
  const markdown = resultsMarkdown(results, `${path.basename(base)}.svg`);
  fs.writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(`${base}.md`, markdown);
  fs.writeFileSync(`${base}.svg`, chartSvg(results.records, `tinynn vs peers: MNIST 784-128-10 training, ${results.machine}, ${results.date}`));
  return { markdown, base };
}
