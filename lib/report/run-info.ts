// The facts about a run that the report lists: its settings, the device it ran on and the machine.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Dataset } from '../data/dataset';
import { TensorDataset } from '../data/tensor-dataset';
import type { TrainerLoss } from '../eager-fit';
import type { Module } from '../nn/module';
import type { Optimizer } from '../optim/optimizer';
import type { History } from '../trainer';

/** A labelled value; `pre` values keep their line breaks. */
export interface Fact {
  label: string;
  value: string;
  pre?: boolean;
}

/** The fit settings the report states. */
export interface RunSettings {
  epochs: number;
  initialEpoch: number;
  batchSize: number;
  shuffle: boolean;
  dropLast: boolean;
  seed: number;
}

/** What was trained, with what, on what. */
export interface RunParts {
  model: Module;
  loss: TrainerLoss;
  optimizer: Optimizer<{ lr: number }, { lr: number }> | null;
  /** The learning-rate scheduler (any object; its class is named), or null. */
  scheduler: object | null;
  settings: RunSettings;
  history: History;
  train: Dataset | TensorDataset;
  validation: Dataset | TensorDataset | null;
}

const className = (x: object): string => x.constructor?.name || 'an object';

// The optimizer's settings; the lr as the epochs ran (a schedule has moved the optimizer's own past
// the last epoch), the others as they are now.
function optimizerText(opt: RunParts['optimizer'], epochs: History['epochs']): string {
  if (!opt) return 'none';
  const short = (x: number | undefined): number | undefined => (x === undefined ? x : Number(x.toPrecision(4)));
  const [first, last] = [short(epochs[0]?.lr), short(epochs[epochs.length - 1]?.lr)];
  const lr = first === undefined ? String(opt.lr) : first === last ? String(first) : `${first} → ${last} (epoch ${epochs[0].epoch} → ${epochs[epochs.length - 1].epoch})`;
  const settings = Object.entries(opt.paramGroups[0].options as Record<string, unknown>)
    .map(([k, v]) => `${k} ${k === 'lr' ? lr : Array.isArray(v) ? v.join('/') : String(v)}`).join(', ');
  const groups = opt.paramGroups.length > 1 ? ` (first of ${opt.paramGroups.length} parameter groups)` : '';
  return `${opt.name}: ${settings}${groups}`;
}

function datasetText(d: Dataset | TensorDataset): string {
  const features = d instanceof TensorDataset ? d.featureCount : d.features;
  const kind = d instanceof TensorDataset ? (d.labels ? `${d.numClasses} classes, float features` : 'regression targets')
    : `${d.numClasses} classes, byte features`;
  return `${d.length.toLocaleString('en-US')} samples × ${features} features (${kind})`;
}

/** The run's settings: model, loss, optimizer, schedule, epochs, batches, data, executor. */
export function runFacts(p: RunParts): Fact[] {
  const { settings: s, history: h } = p;
  const planned = s.epochs - s.initialEpoch;
  const ran = h.epochs.length;
  const epochs = `${ran} of ${planned} (epochs ${s.initialEpoch + 1}–${s.epochs})` +
    (h.stopped ? ', stopped early' : '');
  const time = h.epochs.reduce((t, e) => t + e.seconds, 0);
  return [
    { label: 'Model', value: p.model.toString(), pre: true },
    { label: 'Loss', value: className(p.loss) },
    { label: 'Optimizer', value: optimizerText(p.optimizer, h.epochs) },
    { label: 'Scheduler', value: p.scheduler ? className(p.scheduler) : 'none' },
    { label: 'Epochs run', value: epochs },
    { label: 'Batch size', value: `${s.batchSize}${s.dropLast ? ' (last partial batch dropped)' : ''}` },
    { label: 'Shuffle', value: s.shuffle ? `every epoch, seed ${s.seed}` : 'off' },
    { label: 'Training set', value: datasetText(p.train) },
    { label: 'Validation set', value: p.validation ? datasetText(p.validation) : 'none' },
    { label: 'Executor', value: h.executor },
    { label: 'Training time', value: `${time.toFixed(1)} s` },
  ];
}

// The GPU's name from the NVIDIA driver's /proc files (Linux), or null.
function nvidiaGpuName(index: number): string | null {
  try {
    const dir = '/proc/driver/nvidia/gpus';
    const gpus = fs.readdirSync(dir).sort();
    if (index >= gpus.length) return null;
    const info = fs.readFileSync(path.join(dir, gpus[index], 'information'), 'utf8');
    return /^Model:\s*(.+)$/m.exec(info)?.[1].trim() ?? null;
  } catch {
    return null;
  }
}

/** The device the model is on (with the GPU's name where the driver tells it). */
export function deviceFacts(device: string): Fact[] {
  const m = /^cuda:(\d+)$/.exec(device);
  const gpu = m ? nvidiaGpuName(Number(m[1])) : null;
  return [{ label: 'Device', value: gpu ? `${device} (${gpu})` : device }];
}

function tinynnVersion(): string {
  try {
    // lib/report/ and dist/report/ are both two levels below the package root.
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The machine: CPU, memory, OS, Node.js and tinynn versions, and when the report was written. */
export function machineFacts(now: Date = new Date()): Fact[] {
  const cpus = os.cpus();
  const cpu = cpus.length > 0 ? `${cpus[0].model.trim()} × ${cpus.length} logical cores` : `${os.availableParallelism()} logical cores`;
  return [
    { label: 'CPU', value: cpu },
    { label: 'Memory', value: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB` },
    { label: 'OS', value: `${os.type()} ${os.release()} (${process.platform}-${process.arch})` },
    { label: 'Node.js', value: process.version },
    { label: 'tinynn', value: tinynnVersion() },
    { label: 'Written', value: now.toISOString() },
  ];
}
