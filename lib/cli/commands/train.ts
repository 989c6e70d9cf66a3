// `tinynn train`: trains an MLP on MNIST, showing progress and one line per epoch; optionally
// checkpoints every epoch and resumes from a checkpoint.
import * as fs from 'fs';
import * as path from 'path';
import { randomInt } from 'crypto';
import { type ParsedOptions, UsageError } from '../args';
import { chooseDevice, DATA_OPTION, DEVICE_OPTION, optionsCommand } from '../command';
import { loss, percent, rate, seconds } from '../format';
import { ACTIVATION_OPTION, HIDDEN_OPTION, mlp, mlpName, parseHidden, type ActivationName } from '../mlp';
import { checkChoices, describeChoices, learningRate, makeOptimizer, makeScheduler, OPTIMIZER_OPTION, SCHEDULER_OPTION,
  type OptimizerChoice, type ScheduleChoice } from '../training-choices';
import { EpochProgress } from '../progress';
import type { DeviceSpec, EpochRecord } from '../../index';

const OPTIONS = {
  epochs: { kind: 'integer', valueName: 'N', description: 'passes over the training set', default: 10, min: 1, max: 1_000_000 },
  batchSize: { kind: 'integer', valueName: 'N', description: 'samples per step', default: 64, min: 1, max: 60_000 },
  hidden: HIDDEN_OPTION,
  activation: ACTIVATION_OPTION,
  optimizer: OPTIMIZER_OPTION,
  lr: { kind: 'number', valueName: 'X', description: 'learning rate (default 0.05 for sgd, 0.001 for adam and adamw)', min: 0, minExclusive: true },
  momentum: { kind: 'number', valueName: 'X', description: 'SGD momentum (default 0.9)', min: 0, max: 1, maxExclusive: true },
  weightDecay: { kind: 'number', valueName: 'X', description: 'weight decay: L2 for sgd and adam, decoupled for adamw (default 0; adamw 0.01)', min: 0 },
  scheduler: SCHEDULER_OPTION,
  stepSize: { kind: 'integer', valueName: 'N', description: '--scheduler step: epochs between decays (default epochs/3)', min: 1 },
  gamma: { kind: 'number', valueName: 'X', description: '--scheduler step: the lr factor at each decay (default 0.1)', min: 0, minExclusive: true, max: 1 },
  device: DEVICE_OPTION,
  seed: { kind: 'integer', valueName: 'N', description: 'seed of the initial weights and the shuffle (default: random, printed)', min: 0, max: 2 ** 32 - 1 },
  save: { kind: 'string', valueName: 'FILE', description: 'save the trained weights here (safetensors)' },
  report: { kind: 'string', valueName: 'FILE', description: 'write an HTML report of the run here (curves, confusion matrix, wrong digits)' },
  checkpoint: { kind: 'string', valueName: 'FILE', description: 'after every epoch, save model, optimizer, schedule and epoch here' },
  resume: { kind: 'string', valueName: 'FILE', description: 'continue the run a --checkpoint file was saved from, up to --epochs' },
  limit: { kind: 'integer', valueName: 'N', description: 'train on the first N training samples only', min: 1 },
  data: DATA_OPTION,
} as const;

const SYNOPSIS = 'tinynn train [options]';

const DESCRIPTION =
  'Trains an MLP (784-128-10 Linear-ReLU-Linear unless --hidden / --activation say otherwise) with\n' +
  'softmax cross-entropy on MNIST and reports the test accuracy after every epoch.';

function summary(e: EpochRecord, epochs: number): string {
  const test = e.valAccuracy === null ? '' : `  test acc ${percent(e.valAccuracy)}`;
  return `epoch ${e.epoch}/${epochs}  loss ${loss(e.loss)}  train acc ${percent(e.accuracy)}${test}  ` +
    `${seconds(e.seconds)}  ${rate(e.samplesPerSecond)} samples/s`;
}

// The settings a checkpoint records; resuming with other values is refused (the run would not be
// the one the checkpoint continues).
interface RunSettings {
  hidden: number[];
  activation: string;
  optimizer: string;
  scheduler: string;
  // A schedule's shape depends on the run's length (except none).
  scheduleEpochs: number | null;
  batchSize: number;
  limit: number | null;
}

async function run(o: ParsedOptions<typeof OPTIONS>): Promise<number> {
  const hidden = parseHidden(o.hidden);
  const activation = o.activation as ActivationName;
  const choice: OptimizerChoice = { optimizer: o.optimizer as OptimizerChoice['optimizer'], lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay };
  checkChoices(choice, { scheduler: o.scheduler as ScheduleChoice['scheduler'], stepSize: o.stepSize, gamma: o.gamma });
  // Fail before training, not after it, when the weights or the report could not be written.
  if (o.save !== undefined) checkSavePath('--save', o.save);
  if (o.checkpoint !== undefined) checkSavePath('--checkpoint', o.checkpoint);
  if (o.report !== undefined) checkSavePath('--report', o.report);
  if (o.resume !== undefined && !fs.existsSync(o.resume)) throw new UsageError(`--resume ${o.resume}: no such file`);
  // Loaded here, not at the top, so that --help and usage errors work without the native addon.
  const { nn, optim, Trainer, datasets, save, saveCheckpoint, loadCheckpoint, manualSeed, backends } = await import('../../index');
  const device = chooseDevice(o.device, backends());
  let seed = o.seed ?? randomInt(2 ** 31);
  manualSeed(seed);
  const model = mlp(nn, hidden, activation);
  model.to(device as DeviceSpec);
  const { train, test } = await datasets.mnist({ dir: o.data });
  const trainSet = o.limit === undefined ? train : train.subset(0, Math.min(o.limit, train.length));
  const schedule: ScheduleChoice = { scheduler: o.scheduler as ScheduleChoice['scheduler'], stepSize: o.stepSize, gamma: o.gamma,
    epochs: o.epochs, stepsPerEpoch: Math.ceil(trainSet.length / o.batchSize) };
  const optimizer = makeOptimizer(optim, model.parameters(), choice);
  const scheduler = makeScheduler(optim, optimizer, schedule, learningRate(choice));
  const trainer = new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss(), scheduler });
  const settings: RunSettings = { hidden, activation, optimizer: choice.optimizer, scheduler: schedule.scheduler,
    scheduleEpochs: schedule.scheduler === 'none' ? null : o.epochs, batchSize: o.batchSize,
    limit: o.limit ?? null };

  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  let initialEpoch = 0;
  if (o.resume !== undefined) {
    const { epoch, extra } = await loadCheckpoint(o.resume, { model, optimizer, scheduler });
    const saved = extra as { seed?: unknown; settings?: RunSettings } | null;
    if (epoch === null || typeof saved?.seed !== 'number' || !saved.settings) {
      throw new Error(`${o.resume} was not written by tinynn train --checkpoint (it has no epoch, seed and settings)`);
    }
    const differences = (Object.keys(settings) as (keyof RunSettings)[])
      .filter((k) => JSON.stringify(settings[k]) !== JSON.stringify(saved.settings![k]))
      .map((k) => `${k} ${JSON.stringify(saved.settings![k])} there, ${JSON.stringify(settings[k])} here`);
    if (differences.length) throw new UsageError(`--resume ${o.resume} continues a run with other settings: ${differences.join('; ')}`);
    if (o.seed !== undefined && o.seed !== saved.seed) throw new UsageError(`--resume ${o.resume} continues the run of seed ${saved.seed}, not --seed ${o.seed}`);
    if (epoch >= o.epochs) throw new UsageError(`--resume ${o.resume} is at epoch ${epoch}; --epochs ${o.epochs} leaves nothing to train`);
    seed = saved.seed;
    initialEpoch = epoch;
    out(`resuming from ${o.resume} after epoch ${epoch}`);
  }
  out(`training the ${mlpName(hidden, activation)} on ${trainSet.length} MNIST samples (test set ${test.length}) on ${model.device}`);
  out(`${describeChoices(choice, schedule)}; batch size ${o.batchSize}; ${o.epochs} epoch${o.epochs === 1 ? '' : 's'}; seed ${seed}`);

  const progress = new EpochProgress(process.stdout, o.epochs, o.batchSize);
  // The first Ctrl-C stops training cleanly at the next step; a second one kills the process.
  const abort = new AbortController();
  const onInterrupt = (): void => abort.abort();
  process.once('SIGINT', onInterrupt);
  const started = performance.now();
  let history;
  try {
    history = await trainer.fit(trainSet, {
      epochs: o.epochs, initialEpoch, batchSize: o.batchSize, shuffle: true, seed, validation: test, signal: abort.signal, report: o.report,
      onBatchEnd: (p) => progress.update(p),
      onEpochEnd: async (e) => {
        progress.clear();
        out(summary(e, o.epochs));
        if (o.checkpoint !== undefined) {
          await saveCheckpoint(o.checkpoint, { model, optimizer, scheduler, epoch: e.epoch, extra: { seed, settings } });
        }
      },
    });
  } catch (err) {
    progress.clear();
    if (!abort.signal.aborted) throw err;
    const kept = o.checkpoint !== undefined ? `; ${o.checkpoint} holds the last finished epoch` : '; nothing saved';
    process.stderr.write(`tinynn train: interrupted${kept}\n`);
    return 130;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
  const last = history.epochs[history.epochs.length - 1];
  out(`final test accuracy: ${percent(last.valAccuracy ?? NaN)} (${seconds((performance.now() - started) / 1000)} in all, ${history.executor} executor)`);
  if (o.report !== undefined) out(`wrote the report to ${o.report}`);
  if (o.save !== undefined) {
    await save(model, o.save);
    out(`saved the weights to ${o.save}`);
  }
  return 0;
}

// --save / --checkpoint / --report FILE must name a file in an existing directory (not a directory itself).
function checkSavePath(flag: string, file: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new UsageError(`${flag} ${file}: directory ${dir} does not exist`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UsageError(`${flag} ${file} is a directory; name a file in it`);
}

/** `tinynn train`. */
export const trainCommand = optionsCommand({
  name: 'train',
  summary: 'train an MLP on MNIST',
  synopsis: SYNOPSIS,
  description: DESCRIPTION,
  options: OPTIONS,
  run,
});
