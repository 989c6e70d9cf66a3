// `tinynn train`: trains the 784-128-10 MLP on MNIST, showing progress and one line per epoch.
import * as fs from 'fs';
import * as path from 'path';
import { randomInt } from 'crypto';
import { describeOptions, parseArgs, UsageError } from '../args';
import { chooseDevice, DATA_OPTION, DEVICE_OPTION, mnistMlp, type Command } from '../command';
import { loss, percent, rate, seconds } from '../format';
import { EpochProgress } from '../progress';
import type { DeviceSpec, EpochRecord } from '../../index';

const OPTIONS = {
  epochs: { kind: 'integer', valueName: 'N', description: 'passes over the training set', default: 10, min: 1, max: 1_000_000 },
  batchSize: { kind: 'integer', valueName: 'N', description: 'samples per SGD step', default: 64, min: 1, max: 60_000 },
  lr: { kind: 'number', valueName: 'X', description: 'learning rate', default: 0.05, min: 0, minExclusive: true },
  momentum: { kind: 'number', valueName: 'X', description: 'SGD momentum', default: 0.9, min: 0, max: 1, maxExclusive: true },
  weightDecay: { kind: 'number', valueName: 'X', description: 'L2 weight decay', default: 0, min: 0 },
  device: DEVICE_OPTION,
  seed: { kind: 'integer', valueName: 'N', description: 'seed of the initial weights and the shuffle (default: random, printed)', min: 0, max: 2 ** 32 - 1 },
  save: { kind: 'string', valueName: 'FILE', description: 'save the trained weights here (safetensors)' },
  limit: { kind: 'integer', valueName: 'N', description: 'train on the first N training samples only', min: 1 },
  data: DATA_OPTION,
} as const;

const SYNOPSIS = 'tinynn train [options]';

function help(): string {
  return `Usage: ${SYNOPSIS}\n\n` +
    'Trains the 784-128-10 MLP (Linear-ReLU-Linear, softmax cross-entropy, SGD) on MNIST and reports\n' +
    'the test accuracy after every epoch.\n\n' +
    `Options:\n${describeOptions(OPTIONS)}\n`;
}

function summary(e: EpochRecord, epochs: number): string {
  const test = e.valAccuracy === null ? '' : `  test acc ${percent(e.valAccuracy)}`;
  return `epoch ${e.epoch}/${epochs}  loss ${loss(e.loss)}  train acc ${percent(e.accuracy)}${test}  ` +
    `${seconds(e.seconds)}  ${rate(e.samplesPerSecond)} samples/s`;
}

async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(argv, OPTIONS);
  if (parsed.help) {
    process.stdout.write(help());
    return 0;
  }
  const o = parsed.options;
  // Fail before training, not after it, when the weights could not be saved.
  if (o.save !== undefined) checkSavePath(o.save);
  // Loaded here, not at the top, so that --help and usage errors work without the native addon.
  const { nn, optim, Trainer, datasets, save, manualSeed, backends } = await import('../../index');
  const device = chooseDevice(o.device, backends());
  const seed = o.seed ?? randomInt(2 ** 31);
  manualSeed(seed);
  const model = mnistMlp(nn);
  model.to(device as DeviceSpec);
  const { train, test } = await datasets.mnist({ dir: o.data });
  const trainSet = o.limit === undefined ? train : train.subset(0, Math.min(o.limit, train.length));
  const optimizer = new optim.SGD(model.parameters(), { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  const trainer = new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss() });

  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  out(`training the 784-128-10 MLP on ${trainSet.length} MNIST samples (test set ${test.length}) on ${model.device}`);
  out(`SGD lr ${o.lr}, momentum ${o.momentum}, weight decay ${o.weightDecay}; batch size ${o.batchSize}; ` +
    `${o.epochs} epoch${o.epochs === 1 ? '' : 's'}; seed ${seed}`);

  const progress = new EpochProgress(process.stdout, o.epochs, o.batchSize);
  // The first Ctrl-C stops training cleanly at the next step; a second one kills the process.
  const abort = new AbortController();
  const onInterrupt = (): void => abort.abort();
  process.once('SIGINT', onInterrupt);
  const started = performance.now();
  let history;
  try {
    history = await trainer.fit(trainSet, {
      epochs: o.epochs, batchSize: o.batchSize, shuffle: true, seed, validation: test, signal: abort.signal,
      onBatchEnd: (p) => progress.update(p),
      onEpochEnd: (e) => {
        progress.clear();
        out(summary(e, o.epochs));
      },
    });
  } catch (err) {
    progress.clear();
    if (!abort.signal.aborted) throw err;
    process.stderr.write('tinynn train: interrupted; nothing saved\n');
    return 130;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
  const last = history.epochs[history.epochs.length - 1];
  out(`final test accuracy: ${percent(last.valAccuracy ?? NaN)} (${seconds((performance.now() - started) / 1000)} in all)`);
  if (o.save !== undefined) {
    await save(model, o.save);
    out(`saved the weights to ${o.save}`);
  }
  return 0;
}

// --save FILE must name a file in an existing directory (not a directory itself).
function checkSavePath(file: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new UsageError(`--save ${file}: directory ${dir} does not exist`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UsageError(`--save ${file} is a directory; name a file in it`);
}

/** `tinynn train`. */
export const trainCommand: Command = {
  name: 'train',
  summary: 'train the 784-128-10 MLP on MNIST',
  synopsis: SYNOPSIS,
  run,
};
