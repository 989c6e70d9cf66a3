// Checkpoints: a model, its optimizer, a learning-rate scheduler, the epoch and the random
// generator's state in one safetensors file. Tensors: the model's under their state_dict names
// ('0.weight'), the optimizer's under 'optimizer.<param index>.<state name>'; the rest as JSON in
// the metadata entry 'tinynn.checkpoint'. The model part loads in PyTorch like any save() file
// (with strict=False, or after dropping the optimizer.* tensors).
import { describe } from '../device';
import type { Module } from '../nn/module';
import type { LRScheduler } from '../optim/lr-scheduler';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer';
import type { ReduceLROnPlateau } from '../optim/reduce-lr-on-plateau';
import { defaultGenerator, type Generator } from '../random';
import { tensor, Tensor } from '../tensor';
import { writeFileAtomic } from './atomic-write';
import { mismatches, rejectNonFinite, stateEntries } from './save-load';
import { readSafetensorsFile } from './safetensors-file';
import { decodeSafetensors, encodeSafetensors, float32Data } from './safetensors';

const METADATA_KEY = 'tinynn.checkpoint';
const OPTIMIZER_PREFIX = 'optimizer.';
const VERSION = 1;

type AnyOptimizer = Optimizer<{ lr: number }, { lr: number }>;

/** What a checkpoint holds; everything but the model is optional. */
export interface CheckpointParts {
  model: Module;
  optimizer?: AnyOptimizer;
  scheduler?: LRScheduler | ReduceLROnPlateau;
  /** Epochs completed (pass it to fit as initialEpoch when resuming). */
  epoch?: number;
  /** The generator whose state is saved and restored (default: the one manualSeed seeds). */
  generator?: Generator;
  /** Anything else worth keeping (JSON). */
  extra?: unknown;
}

interface CheckpointMeta {
  version: number;
  epoch: number | null;
  optimizer: { name: string; paramGroups: OptimizerStateDict['paramGroups']; steps: Record<number, number> } | null;
  scheduler: { name: string; state: unknown } | null;
  rng: number[];
  extra: unknown;
}

// JSON has no Infinity or NaN (a plateau scheduler's best before its first step is ±Infinity):
// they travel as { "$number": "Infinity" } and come back as numbers.
function keepNonFinite(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? { $number: String(value) } : value;
}

function restoreNonFinite(_key: string, value: unknown): unknown {
  const n = (value as { $number?: unknown } | null)?.$number;
  return typeof n === 'string' && Object.keys(value as object).length === 1 ? Number(n) : value;
}

function schedulerName(s: LRScheduler | ReduceLROnPlateau): string {
  return s.constructor.name;
}

/**
 * Saves model, optimizer, scheduler, epoch and generator state to `path`, atomically (an
 * interrupted save leaves the previous file whole).
 */
export async function saveCheckpoint(path: string, parts: CheckpointParts): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new TypeError(`saveCheckpoint: expected the path to be a non-empty string, got ${describe(path)}`);
  if (parts === null || typeof parts !== 'object' || typeof parts.model?.stateDict !== 'function') {
    throw new TypeError(`saveCheckpoint: expected { model, optimizer?, scheduler?, epoch?, generator?, extra? }, got ${describe(parts)}`);
  }
  const entries = stateEntries(parts.model, 'saveCheckpoint');
  const clash = Object.keys(entries).find((name) => name.startsWith(OPTIMIZER_PREFIX));
  if (clash) throw new RangeError(`saveCheckpoint: a model parameter is named '${clash}', which the optimizer's tensors use`);
  let optimizer: CheckpointMeta['optimizer'] = null;
  if (parts.optimizer) {
    const dict = parts.optimizer.stateDict();
    const steps: Record<number, number> = {};
    for (const [i, entry] of Object.entries(dict.state)) {
      for (const [name, value] of Object.entries(entry)) {
        if (value instanceof Tensor) entries[`${OPTIMIZER_PREFIX}${i}.${name}`] = { shape: [...value.shape], data: value.toArray() as Float32Array };
        else steps[Number(i)] = value;
      }
    }
    optimizer = { name: parts.optimizer.name, paramGroups: dict.paramGroups, steps };
  }
  const meta: CheckpointMeta = {
    version: VERSION,
    epoch: parts.epoch ?? null,
    optimizer,
    scheduler: parts.scheduler ? { name: schedulerName(parts.scheduler), state: parts.scheduler.stateDict() } : null,
    rng: (parts.generator ?? defaultGenerator).getState(),
    extra: parts.extra ?? null,
  };
  await writeFileAtomic(path, encodeSafetensors(entries, { format: 'pt', [METADATA_KEY]: JSON.stringify(meta, keepNonFinite) }));
}

/**
 * Restores a checkpoint into the given parts (the same kinds of model, optimizer and scheduler it
 * was saved from). Everything is read and checked before anything changes: on any error the
 * parts are untouched. Resolves to the saved epoch and extra.
 */
export async function loadCheckpoint(path: string, parts: CheckpointParts): Promise<{ epoch: number | null; extra: unknown }> {
  if (typeof path !== 'string' || path === '') throw new TypeError(`loadCheckpoint: expected the path to be a non-empty string, got ${describe(path)}`);
  if (parts === null || typeof parts !== 'object' || typeof parts.model?.loadStateDict !== 'function') {
    throw new TypeError(`loadCheckpoint: expected { model, optimizer?, scheduler?, generator? }, got ${describe(parts)}`);
  }
  const fail = (message: string): never => {
    throw new RangeError(`${path}: ${message}`);
  };
  const { tensors, metadata } = decodeSafetensors(await readSafetensorsFile(path), path);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(metadata[METADATA_KEY] ?? 'null', restoreNonFinite) as CheckpointMeta;
  } catch {
    return fail(`its '${METADATA_KEY}' metadata is not JSON`);
  }
  if (meta === null || typeof meta !== 'object' || meta.version !== VERSION) return fail(`not a tinynn checkpoint (no '${METADATA_KEY}' metadata of version ${VERSION})`);

  // The model's tensors (checked as load() checks them), and the optimizer's as tensors.
  const problems = mismatches(parts.model.stateDict(), new Map([...tensors].filter(([name]) => !name.startsWith(OPTIMIZER_PREFIX))));
  if (problems.length) return fail(`does not fit the model: ${problems.join('; ')}`);
  const modelState: Record<string, { shape: number[]; data: Float32Array }> = Object.create(null);
  const optimizerTensors = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    const data = float32Data(t, `${path}: tensor '${name}'`);
    if (name.startsWith(OPTIMIZER_PREFIX)) optimizerTensors.set(name.slice(OPTIMIZER_PREFIX.length), tensor(data, { shape: t.shape }));
    else {
      rejectNonFinite(path, name, data);
      modelState[name] = { shape: t.shape, data };
    }
  }

  // What can be checked across parts comes first.
  let optimizerDict: OptimizerStateDict | null = null;
  if (parts.optimizer) {
    const o = meta.optimizer;
    if (!o) return fail('holds no optimizer state');
    if (o.name !== parts.optimizer.name) return fail(`holds ${o.name} state, not ${parts.optimizer.name}`);
    const state: OptimizerStateDict['state'] = {};
    for (const [i, step] of Object.entries(o.steps ?? {})) state[Number(i)] = { step };
    for (const [key, t] of optimizerTensors) {
      const dot = key.indexOf('.');
      const i = Number(key.slice(0, dot));
      if (dot < 1 || !Number.isInteger(i)) return fail(`optimizer tensor '${key}' is not '<index>.<name>'`);
      (state[i] ??= { step: 0 })[key.slice(dot + 1)] = t;
    }
    optimizerDict = { state, paramGroups: o.paramGroups };
  }
  if (parts.scheduler) {
    const s = meta.scheduler;
    if (!s) return fail('holds no scheduler state');
    if (s.name !== schedulerName(parts.scheduler)) return fail(`holds ${s.name} state, not ${schedulerName(parts.scheduler)}`);
  }
  const generator = parts.generator ?? defaultGenerator;
  const rngBefore = generator.getState();
  generator.setState(meta.rng); // validates
  generator.setState(rngBefore);

  // Apply: the model, then the scheduler, then the optimizer. Each validates its whole input
  // before it changes; if a later one refuses, the earlier ones go back to where they were.
  const modelCopies = Object.fromEntries(Object.entries(parts.model.stateDict()).map(([n, t]) => [n, t.toArray() as Float32Array]));
  const scheduler = parts.scheduler as { stateDict(): unknown; loadStateDict(d: unknown): void } | undefined;
  const schedulerBefore = scheduler?.stateDict();
  parts.model.loadStateDict(modelState);
  try {
    if (scheduler && meta.scheduler) scheduler.loadStateDict(meta.scheduler.state);
    if (parts.optimizer && optimizerDict) parts.optimizer.loadStateDict(optimizerDict);
  } catch (err) {
    parts.model.loadStateDict(modelCopies);
    if (scheduler) scheduler.loadStateDict(schedulerBefore);
    throw new RangeError(`${path}: ${(err as Error).message}`, { cause: err });
  }
  generator.setState(meta.rng);
  return { epoch: meta.epoch, extra: meta.extra };
}
