// Trainer: fits any Module with any loss and optimizer. A Sequential of Linear layers and
// element-wise activations with the default CrossEntropyLoss and a one-group optimizer on a u8
// Dataset runs on the native training driver, off the JavaScript thread; everything else runs the
// eager loop of lib/eager-fit.ts.
import { DataLoader } from './data/dataloader';
import type { Dataset } from './data/dataset';
import { deviceData, deviceTensors } from './data/device-data';
import { TensorDataset } from './data/tensor-dataset';
import { describe, type DeviceSpec } from './device';
import { eagerEpoch, eagerEvaluate, type EagerParts, type TrainerLoss } from './eager-fit';
import { native } from './native';
import type { NativeActivation, NativeDriver, NativeDriverOptions, NativeEpochRecord, NativeLayer, NativeProgress, NativeTensor } from './native-types';
import { CrossEntropyLoss, MSELoss } from './nn/loss';
import { Linear } from './nn/linear';
import { GELU, LeakyReLU, ReLU, Sigmoid, Tanh } from './nn/activation';
import { Module } from './nn/module';
import { Sequential } from './nn/sequential';
import { LRScheduler } from './optim/lr-scheduler';
import { OneCycleLR } from './optim/one-cycle-lr';
import { Optimizer } from './optim/optimizer';
import { ReduceLROnPlateau } from './optim/reduce-lr-on-plateau';
import { defaultGenerator } from './random';
import { checkReportPath, writeReport } from './report/write-report';

/** What a Trainer trains with, and how. */
export interface TrainerOptions {
  /** Any optimizer over the model's parameters; required by fit(), evaluate() needs none. */
  optimizer?: Optimizer<{ lr: number }, { lr: number }>;
  /** Any loss module (forward(output, target) → a mean-reduced scalar). */
  loss: TrainerLoss;
  /**
   * A learning-rate schedule stepped at the granularity its kind needs: OneCycleLR after every
   * batch, ReduceLROnPlateau after every epoch with the validation loss (the training loss
   * without a validation set), the others after every epoch.
   */
  scheduler?: LRScheduler | ReduceLROnPlateau;
  /**
   * 'auto' (default): the backend's fused executor runs each step when it has one for the model,
   * else the composed one; 'none': always the composed executor, one primitive at a time (the
   * reference the fused one is tested against).
   */
  fusion?: 'auto' | 'none';
  /** CUDA: let cuBLAS use TF32 tensor cores for fp32 GEMMs (faster, ~1e-3 relative). Default false. */
  tf32?: boolean;
  /**
   * CUDA on sm_90+ (H100/H200), experimental: the first layer's GEMMs at batches of 129..1024 as
   * tinynn's thread-block-cluster kernels instead of cuBLAS. Default false.
   */
  cudaClusterLayer1?: boolean;
}

/** Progress inside an epoch, delivered to onBatchEnd (throttled to about 10 a second). */
export interface BatchProgress {
  /** 1-based epoch. */
  epoch: number;
  /** Steps done in this epoch. */
  step: number;
  stepsPerEpoch: number;
  /** Mean loss over the epoch so far. */
  loss: number;
  /** Training accuracy over the epoch so far (null when the targets are not class labels). */
  accuracy: number | null;
  samplesPerSecond: number;
  /** Seconds since the epoch began. */
  seconds: number;
}

/** One finished epoch. */
export interface EpochRecord {
  epoch: number;
  /** The learning rate (the first parameter group's) during the epoch. */
  lr: number;
  loss: number;
  /** Training accuracy (null when the targets are not class labels). */
  accuracy: number | null;
  /** Loss and accuracy on the validation set (null without one). */
  valLoss: number | null;
  valAccuracy: number | null;
  samplesPerSecond: number;
  seconds: number;
}

/** What fit() resolves to. */
export interface History {
  epochs: EpochRecord[];
  /**
   * Which path ran the steps: the native driver's 'fused' executor or its 'composed' reference,
   * or the 'eager' loop (any other model, loss, optimizer or dataset).
   */
  executor: 'fused' | 'composed' | 'eager';
  /** Whether stop() ended training before the last epoch. */
  stopped: boolean;
  /** The shuffle's seed (given, or drawn from the default generator): pass it again to resume. */
  seed: number;
}

/** Options for {@link Trainer.fit}. */
export interface FitOptions {
  /** The epoch to end after (default 1): epochs initialEpoch + 1 … epochs run. */
  epochs?: number;
  /**
   * Epochs already done (default 0), as when resuming from a checkpoint: each epoch's shuffle and
   * record number follow from its index, so a resumed run equals an uninterrupted one.
   */
  initialEpoch?: number;
  /** Default 64. */
  batchSize?: number;
  /** Reshuffle every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffle (default: drawn from the generator manualSeed seeds). */
  seed?: number;
  /** Drop the last partial batch (default false). */
  dropLast?: boolean;
  /** Evaluated after every epoch. */
  validation?: Dataset | TensorDataset;
  /** Aborting stops training at the next step boundary; fit rejects with an AbortError. */
  signal?: AbortSignal;
  /** About 10 a second; may return a promise (not awaited: a rejection ends training and rejects fit). */
  onBatchEnd?: (progress: BatchProgress) => void | Promise<void>;
  /** After each epoch (and its validation); fit waits for the promise it returns before the next epoch. */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
  /**
   * Write an HTML report of the run to this file when fit resolves (stopped early included): the
   * curves, the confusion matrix and most confidently wrong samples on the validation set, the
   * settings, device and machine. One self-contained page, written atomically. When it cannot be
   * written, fit rejects with an Error that carries the run's History as `history`.
   */
  report?: string;
}

/** Loss and accuracy over a dataset. */
export interface Evaluation {
  loss: number;
  /** null when the targets are not class labels. */
  accuracy: number | null;
}

/**
 * Trains a model. A Sequential of Linear layers (each optionally followed by an element-wise
 * activation) with the default CrossEntropyLoss and a one-group optimizer on a u8 Dataset runs on
 * the native training driver: whole epochs on a worker thread, the event loop free. Any other
 * Module, loss, optimizer or dataset runs an eager loop of native ops that yields to the event
 * loop every few milliseconds. Both take the same options and callbacks; the history says which
 * ran.
 */
export class Trainer {
  readonly model: Module;
  readonly optimizer: Optimizer<{ lr: number }, { lr: number }> | null;
  readonly loss: TrainerLoss;
  readonly scheduler: LRScheduler | ReduceLROnPlateau | null;
  private readonly execution: Pick<NativeDriverOptions, 'fusion' | 'tf32' | 'cudaClusterLayer1'>;
  private driver: NativeDriver | null = null;
  private driverKey: unknown[] = [];
  // The driver of the fit in progress, and whether stop() was called during it.
  private running: NativeDriver | null = null;
  private stopping = false;

  constructor(model: Module, options: TrainerOptions) {
    if (!(model instanceof Module)) throw new TypeError(`Trainer needs an nn.Module, got ${describe(model)}`);
    if (!options || typeof options !== 'object') throw new TypeError(`Trainer options must be an object, got ${describe(options)}`);
    if (options.optimizer !== undefined && !(options.optimizer instanceof Optimizer)) {
      throw new TypeError(`Trainer options.optimizer must be an optimizer (optim.SGD, optim.Adam, …), got ${describe(options.optimizer)}`);
    }
    const loss = options.loss as unknown;
    if (typeof loss !== 'object' || loss === null || typeof (loss as TrainerLoss).forward !== 'function') {
      throw new TypeError(`Trainer options.loss must be a loss module (nn.CrossEntropyLoss, nn.MSELoss, …), got ${describe(loss)}`);
    }
    const fusion = options.fusion ?? 'auto';
    if (fusion !== 'auto' && fusion !== 'none') throw new TypeError(`Trainer options.fusion must be 'auto' or 'none', got ${describe(fusion)}`);
    const flag = (name: 'tf32' | 'cudaClusterLayer1'): boolean => {
      const v = options[name] ?? false;
      if (typeof v !== 'boolean') throw new TypeError(`Trainer options.${name} must be a boolean, got ${describe(v)}`);
      return v;
    };
    this.execution = { fusion: fusion === 'auto', tf32: flag('tf32'), cudaClusterLayer1: flag('cudaClusterLayer1') };
    this.model = model;
    this.optimizer = options.optimizer ?? null;
    this.loss = options.loss;
    const scheduler = options.scheduler;
    if (scheduler !== undefined && !(scheduler instanceof LRScheduler) && !(scheduler instanceof ReduceLROnPlateau)) {
      throw new TypeError(`Trainer options.scheduler must be a learning-rate scheduler (optim.StepLR, …), got ${describe(scheduler)}`);
    }
    if (scheduler && scheduler.optimizer !== this.optimizer) throw new TypeError("Trainer options.scheduler must schedule the Trainer's optimizer");
    this.scheduler = scheduler ?? null;
    const params = new Set(model.parameters());
    if (this.optimizer && this.optimizer.params.some((p) => !params.has(p))) {
      throw new TypeError("Trainer: the optimizer holds a parameter that is not the model's");
    }
  }

  /**
   * Trains epochs initialEpoch + 1 … epochs; resolves to the per-epoch history. With an
   * `onEpochEnd` callback fit waits for it (it may be async) before the next epoch: the weights
   * are readable and save() works there, and changes to the optimizer (its lr, say, or a
   * scheduler's step) apply from the next epoch. `stop()` ends training after the epoch in
   * progress; a callback that throws or rejects ends it too, and fit rejects with that error.
   */
  async fit(dataset: Dataset | TensorDataset, options: FitOptions = {}): Promise<History> {
    const opts = checkFitOptions(dataset, options);
    if (!this.optimizer) throw new TypeError('Trainer.fit needs options.optimizer given to the Trainer');
    // Checked before training, not after its first epoch has changed the weights.
    if (opts.validation && featuresOf(opts.validation) !== featuresOf(dataset)) {
      throw new RangeError(`fit validation has ${featuresOf(opts.validation)} features per sample but the training set has ${featuresOf(dataset)}`);
    }
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const run = { driver: null as NativeDriver | null, failure: null as { error: unknown } | null };
    // A callback's failure, thrown or rejected: the first one ends training and rejects fit.
    const fail = (error: unknown): void => {
      run.failure ??= { error };
      run.driver?.abort();
    };
    const call = (fn: () => unknown): void => {
      try {
        const result = fn();
        if (result instanceof Promise) result.catch(fail);
      } catch (err) {
        fail(err);
      }
    };
    const onBatch = (progress: BatchProgress): void => {
      if (opts.onBatchEnd && !run.failure) call(() => opts.onBatchEnd!(progress));
    };
    const onAbort = (): void => run.driver?.abort();
    opts.signal?.addEventListener('abort', onAbort);
    this.stopping = false;
    const history: EpochRecord[] = [];
    const afterEpoch = async (record: EpochRecord): Promise<void> => {
      history.push(record);
      if (this.scheduler instanceof ReduceLROnPlateau) this.scheduler.step(record.valLoss ?? record.loss);
      else if (this.scheduler && !(this.scheduler instanceof OneCycleLR)) this.scheduler.step();
      if (!opts.onEpochEnd || run.failure) return;
      try {
        await opts.onEpochEnd(record);
      } catch (err) {
        fail(err);
      }
    };
    let executor: History['executor'];
    try {
      const plan = this.driverPlan(dataset, opts.validation);
      executor = plan
        ? await this.fitOnDriver(plan, dataset, opts, run, onBatch, afterEpoch)
        : await this.fitEagerly(dataset, opts, run, onBatch, afterEpoch);
    } catch (err) {
      if (run.failure) throw run.failure.error;
      if ((err as { code?: string }).code === 'ABORT_ERR' || (err as Error).name === 'AbortError') throw abortReason(opts.signal);
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (run.failure) throw run.failure.error;
    const result: History = { epochs: history, executor, stopped: this.stopping && history.length < opts.epochs - opts.initialEpoch, seed: opts.seed };
    if (opts.report !== undefined) {
      await writeReport(opts.report, { model: this.model, loss: this.loss, optimizer: this.optimizer, scheduler: this.scheduler,
        settings: opts, history: result, train: dataset, validation: opts.validation ?? null });
    }
    return result;
  }

  /**
   * Ends the running fit() after the epoch in progress (its record and callbacks included); fit
   * resolves with the history so far. Call it from a callback (see EarlyStopping) or anywhere.
   */
  stop(): void {
    this.stopping = true;
    this.running?.stopAfterEpoch();
  }

  /**
   * Mean loss and accuracy of the model over `dataset` (accuracy null for regression targets):
   * natively off the JS thread where the driver runs the model, else in the eager loop.
   */
  async evaluate(dataset: Dataset | TensorDataset, options: { batchSize?: number } = {}): Promise<Evaluation> {
    checkDataset(dataset, 'dataset');
    const batchSize = options.batchSize ?? 1000;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be an integer >= 1, got ${describe(batchSize)}`);
    const plan = this.driverPlan(dataset);
    if (plan) {
      this.checkClasses(plan, dataset, 'dataset');
      const data = driverArrays(dataset, this.model.device);
      const r = await this.nativeDriver(plan).evaluate(data.images, data.labels, batchSize, data.scale, data.shift);
      return { loss: r.loss, accuracy: plan.loss === 'mse' ? null : r.accuracy };
    }
    const t = await eagerEvaluate(this.parts(), dataset, batchSize);
    return { loss: t.loss, accuracy: t.accuracy };
  }

  private parts(): EagerParts {
    return { model: this.model, loss: this.loss, optimizer: this.optimizer };
  }

  // The native driver: one run of all epochs, or (with onEpochEnd) one run per epoch.
  private async fitOnDriver(plan: DriverPlan, dataset: Dataset | TensorDataset, opts: CheckedFitOptions,
    run: { driver: NativeDriver | null; failure: unknown },
    onBatch: (p: BatchProgress) => void, afterEpoch: (r: EpochRecord) => Promise<void>): Promise<History['executor']> {
    this.checkClasses(plan, dataset, 'dataset');
    if (opts.validation) this.checkClasses(plan, opts.validation, 'fit validation');
    const device = this.model.device;
    const train = driverArrays(dataset, device);
    const v = opts.validation ? driverArrays(opts.validation, device) : null;
    const validation = v ? { images: v.images, labels: v.labels } : null;
    const stepsPerEpoch = Math.ceil(dataset.length / opts.batchSize);
    // A regression's accuracy is not a number to report.
    const accuracy = (a: number): number | null => (plan.loss === 'mse' ? null : a);
    const onProgress = (p: NativeProgress): void => {
      if (p.kind === 'epoch') return;
      onBatch({ epoch: p.epoch, step: p.step, stepsPerEpoch: p.stepsPerEpoch, loss: p.loss, accuracy: accuracy(p.accuracy),
        samplesPerSecond: p.samplesPerSecond, seconds: p.seconds });
    };
    // Epoch by epoch when JS runs between epochs (a callback, a scheduler); else one native run.
    const perEpoch = opts.onEpochEnd !== undefined || this.scheduler !== null;
    const count = opts.epochs - opts.initialEpoch;
    let executor: History['executor'] = 'composed';
    for (let first = opts.initialEpoch; first < opts.epochs && !this.stopping && !run.failure; first += perEpoch ? 1 : count) {
      const lr = this.optimizer!.lr;
      const driver = this.nativeDriver(plan);
      run.driver = driver;
      this.running = driver;
      executor = driver.executor;
      trackRunning(driver);
      let records: NativeEpochRecord[];
      try {
        records = await driver.fit({
          images: train.images, labels: train.labels, epochs: perEpoch ? 1 : count, firstEpoch: first,
          batchSize: opts.batchSize, shuffle: opts.shuffle, seed: opts.seed, dropLast: opts.dropLast,
          scale: train.scale, shift: train.shift, validation,
          progressEvery: Math.max(1, Math.min(100, Math.floor(stepsPerEpoch / 20))),
        }, onProgress);
      } finally {
        runningDrivers.delete(driver);
        this.running = null;
        run.driver = null;
      }
      for (const r of records) {
        const record = epochRecord(r as unknown as EpochRecord, lr);
        await afterEpoch({ ...record, accuracy: accuracy(r.accuracy), valAccuracy: r.valAccuracy === undefined || r.valAccuracy === null ? null : accuracy(r.valAccuracy) });
      }
    }
    return executor;
  }

  // The eager loop, epoch by epoch; the loader's epoch index picks each epoch's shuffle.
  private async fitEagerly(dataset: Dataset | TensorDataset, opts: CheckedFitOptions, run: { failure: { error: unknown } | null },
    onBatch: (p: BatchProgress) => void, afterEpoch: (r: EpochRecord) => Promise<void>): Promise<History['executor']> {
    const parts = this.parts();
    const loader = new DataLoader(dataset, { batchSize: opts.batchSize, shuffle: opts.shuffle, seed: opts.seed,
      dropLast: opts.dropLast, device: this.model.device as DeviceSpec });
    loader.epoch = opts.initialEpoch;
    const check = (): void => {
      if (run.failure) throw run.failure.error;
      if (opts.signal?.aborted) throw abortReason(opts.signal);
    };
    for (let epoch = opts.initialEpoch + 1; epoch <= opts.epochs && !this.stopping && !run.failure; epoch++) {
      const start = performance.now();
      const lr = this.optimizer!.lr;
      const perBatch = this.scheduler instanceof OneCycleLR ? this.scheduler : null;
      const t = await eagerEpoch(parts, loader, {
        check,
        afterStep: perBatch ? () => perBatch.step() : undefined,
        progress: (step, sums, seconds) => onBatch({ epoch, step, stepsPerEpoch: loader.length, loss: sums.loss,
          accuracy: sums.accuracy, samplesPerSecond: sums.samples / seconds, seconds }),
      });
      const seconds = (performance.now() - start) / 1000;
      const v = opts.validation ? await eagerEvaluate(parts, opts.validation, 1000, check) : null;
      await afterEpoch({ epoch, lr, loss: t.loss, accuracy: t.accuracy, valLoss: v ? v.loss : null, valAccuracy: v ? v.accuracy : null,
        samplesPerSecond: t.samples / seconds, seconds });
    }
    return 'eager';
  }

  // How the driver runs this model, loss and optimizer on `dataset` (and `validation`, which must
  // be of the same kind), or null when it does not: the eager loop then does. The layers are the
  // Linear layers, each optionally followed by one element-wise activation.
  private driverPlan(dataset: Dataset | TensorDataset, validation?: Dataset | TensorDataset): DriverPlan | null {
    const model = this.model;
    const opt = this.optimizer;
    if (!(model instanceof Sequential)) return null;
    // The driver runs whole epochs: a schedule stepped per batch needs the eager loop.
    if (this.scheduler instanceof OneCycleLR) return null;
    if (opt && opt.paramGroups.length !== 1) return null;
    const kind = datasetKind(dataset);
    if (validation && datasetKind(validation) !== kind) return null;
    const loss = kind === 'targets'
      ? (this.loss instanceof MSELoss && this.loss.reduction === 'mean' ? 'mse' : null)
      : (this.loss instanceof CrossEntropyLoss && this.loss.isPlain ? 'crossEntropy' : null);
    if (!loss) return null;
    const layers: DriverLayer[] = [];
    for (const [i, m] of model.layers.entries()) {
      const activation = driverActivation(m);
      if (m instanceof Linear && m.bias) layers.push({ linear: m, activation: 'none', slope: 0.01 });
      else if (activation && layers.length > 0 && layers[layers.length - 1].activation === 'none' && model.layers[i - 1] instanceof Linear) {
        layers[layers.length - 1].activation = activation;
        if (m instanceof LeakyReLU) layers[layers.length - 1].slope = m.negativeSlope;
      } else {
        return null;
      }
    }
    // The driver's loss reads the last Linear layer's outputs as they are (logits, predictions).
    if (layers.length === 0 || layers[layers.length - 1].activation !== 'none') return null;
    if (kind === 'targets' && layers[layers.length - 1].linear.outFeatures !== targetWidth(dataset as TensorDataset)) return null;
    const params = model.parameters();
    if (opt && (opt.params.length !== params.length || opt.params.some((p, i) => p !== params[i]))) return null;
    return { layers, loss, input: kind === 'bytes' ? 'bytes' : 'floats' };
  }

  // Labels index the last layer's outputs: a dataset with more classes than the model has outputs
  // cannot be trained or evaluated (the native side trusts this check).
  private checkClasses(plan: DriverPlan, dataset: Dataset | TensorDataset, what: string): void {
    if (plan.loss !== 'crossEntropy') return;
    const outputs = plan.layers[plan.layers.length - 1].linear.outFeatures;
    if (dataset.numClasses > outputs) {
      throw new RangeError(`${what} has ${dataset.numClasses} classes but the model's last Linear layer gives ${outputs} outputs`);
    }
  }

  // The native driver for the current parameters, optimizer state and options (rebuilt when any changes).
  private nativeDriver(plan: DriverPlan): NativeDriver {
    const opt = this.optimizer;
    const optimizer = opt ? opt.nativeOptions() : { kind: 'sgd' as const, lr: 0, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };
    let k = 0;
    const state = (): NativeDriverOptions['layers'][number]['weightState'] => (opt ? opt.state(k++) : []);
    const layers: NativeLayer[] = plan.layers.map(({ linear, activation, slope }) => ({
      weight: linear.weight.native, bias: (linear.bias as Linear['weight']).native,
      activation, slope, weightState: state(), biasState: state(),
    }));
    const steps = opt ? opt.steps : native.Tensor.zeros([2 * layers.length], 'int32', 'cpu');
    const key = [...layers.flatMap((l) => [l.weight, l.bias, l.activation, l.slope, ...l.weightState, ...l.biasState]), steps,
      JSON.stringify(optimizer), JSON.stringify(this.execution), plan.loss, plan.input];
    if (!this.driver || key.length !== this.driverKey.length || key.some((x, i) => x !== this.driverKey[i])) {
      this.driver = new native.Driver({ layers, loss: plan.loss, input: plan.input, optimizer, steps, ...this.execution });
      this.driverKey = key;
    }
    return this.driver;
  }
}

// A Linear layer of the driver's plan and the activation that follows it.
interface DriverLayer {
  linear: Linear;
  activation: NativeActivation;
  slope: number;
}

// The driver's name of an element-wise activation layer (null for any other module).
function driverActivation(m: Module): NativeActivation | null {
  if (m instanceof ReLU) return 'relu';
  if (m instanceof LeakyReLU) return 'leakyRelu';
  if (m instanceof Sigmoid) return 'sigmoid';
  if (m instanceof Tanh) return 'tanh';
  if (m instanceof GELU) return 'gelu';
  return null;
}

function featuresOf(d: Dataset | TensorDataset): number {
  return d instanceof TensorDataset ? d.featureCount : d.features;
}

// How the driver runs a model on a dataset: its layers, its loss, its inputs.
interface DriverPlan {
  layers: DriverLayer[];
  loss: 'crossEntropy' | 'mse';
  input: 'bytes' | 'floats';
}

// u8 samples with labels (a Dataset), float features with class labels, or with float targets.
function datasetKind(d: Dataset | TensorDataset): 'bytes' | 'labels' | 'targets' {
  if (!(d instanceof TensorDataset)) return 'bytes';
  return d.labels ? 'labels' : 'targets';
}

function targetWidth(d: TensorDataset): number {
  return d.targetShape[0] ?? 1;
}

// A dataset's arrays on the device as the driver takes them: u8 images and labels with their
// scaling, or float features with int32 labels or float targets (no scaling).
function driverArrays(d: Dataset | TensorDataset, device: string): { images: NativeTensor; labels: NativeTensor; scale: number; shift: number } {
  if (d instanceof TensorDataset) {
    const t = deviceTensors(d, device);
    return { images: t.features, labels: (t.labels ?? t.targets)!, scale: 1, shift: 0 };
  }
  const b = deviceData(d, device);
  return { images: b.images, labels: b.labels, scale: d.scale, shift: d.shift };
}

// Drivers with a fit in flight. process.exit() would otherwise wait for them: Node's exit drains the
// thread-pool work in flight before any native exit hook runs, so the JS 'exit' event stops them.
const runningDrivers = new Set<NativeDriver>();
let exitListenerAdded = false;

function trackRunning(driver: NativeDriver): void {
  if (!exitListenerAdded) {
    exitListenerAdded = true;
    process.on('exit', () => runningDrivers.forEach((d) => d.abort()));
  }
  runningDrivers.add(driver);
}

function epochRecord(r: EpochRecord, lr: number): EpochRecord {
  return { epoch: r.epoch, lr, loss: r.loss, accuracy: r.accuracy, valLoss: r.valLoss ?? null, valAccuracy: r.valAccuracy ?? null,
    samplesPerSecond: r.samplesPerSecond, seconds: r.seconds };
}

// What an aborted fit rejects with: the signal's reason, as fetch and the timers promises do (an
// AbortError DOMException unless abort() was given another).
function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? abortError();
}

function abortError(): Error {
  return new DOMException('training was aborted', 'AbortError');
}

function checkDataset(d: unknown, what: string): void {
  const ok = d instanceof TensorDataset ||
    (typeof d === 'object' && d !== null && (d as Dataset).images instanceof Uint8Array && (d as Dataset).labels instanceof Uint8Array);
  if (!ok) throw new TypeError(`${what} must be a Dataset (e.g. from datasets.mnist()) or a TensorDataset, got ${describe(d)}`);
  if ((d as Dataset).length === 0) throw new RangeError(`${what} is empty: it has no samples to train on or evaluate`);
}

interface CheckedFitOptions {
  epochs: number;
  initialEpoch: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  dropLast: boolean;
  validation?: Dataset | TensorDataset;
  signal?: AbortSignal;
  onBatchEnd?: (p: BatchProgress) => void;
  onEpochEnd?: (r: EpochRecord) => void;
  report?: string;
}

function checkFitOptions(dataset: Dataset | TensorDataset, o: FitOptions): CheckedFitOptions {
  checkDataset(dataset, 'dataset');
  if (o === null || typeof o !== 'object') throw new TypeError(`fit options must be an object, got ${describe(o)}`);
  const int = (name: string, v: unknown, fallback: number, min: number, max: number): number => {
    const x = v === undefined ? fallback : v;
    if (typeof x !== 'number' || !Number.isInteger(x)) throw new TypeError(`fit ${name} must be an integer, got ${describe(x)}`);
    if (x < min || x > max) throw new RangeError(`fit ${name} must be in [${min}, ${max}], got ${x}`);
    return x;
  };
  const bool = (name: string, v: unknown, fallback: boolean): boolean => {
    const x = v === undefined ? fallback : v;
    if (typeof x !== 'boolean') throw new TypeError(`fit ${name} must be a boolean, got ${describe(x)}`);
    return x;
  };
  const fn = <T>(name: string, v: T | undefined): T | undefined => {
    if (v !== undefined && typeof v !== 'function') throw new TypeError(`fit ${name} must be a function, got ${describe(v)}`);
    return v;
  };
  if (o.validation !== undefined) checkDataset(o.validation, 'fit validation');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError(`fit signal must be an AbortSignal, got ${describe(o.signal)}`);
  const batchSize = int('batchSize', o.batchSize, 64, 1, 1 << 20);
  const dropLast = bool('dropLast', o.dropLast, false);
  if (dataset.length < batchSize && dropLast) {
    throw new RangeError(`fit: the dataset has ${dataset.length} samples, fewer than one batch of ${batchSize}, and dropLast is set`);
  }
  const epochs = int('epochs', o.epochs, 1, 1, 1_000_000);
  return {
    epochs,
    initialEpoch: int('initialEpoch', o.initialEpoch, 0, 0, epochs - 1),
    batchSize,
    shuffle: bool('shuffle', o.shuffle, true),
    // Drawn only when not given, so that giving a seed leaves the generator where it was.
    seed: o.seed === undefined ? defaultGenerator.nextUint32() : int('seed', o.seed, 0, 0, Number.MAX_SAFE_INTEGER),
    dropLast,
    validation: o.validation,
    signal: o.signal,
    onBatchEnd: fn('onBatchEnd', o.onBatchEnd),
    onEpochEnd: fn('onEpochEnd', o.onEpochEnd),
    report: o.report === undefined ? undefined : checkReportPath(o.report, 'fit report'),
  };
}
