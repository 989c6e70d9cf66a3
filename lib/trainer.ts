// Trainer: fits an nn.Sequential of Linear/ReLU layers with CrossEntropyLoss and SGD through the
// native training driver, off the JavaScript thread.
import type { Dataset } from './data/dataset';
import { deviceData } from './data/device-data';
import { describe } from './device';
import { native } from './native';
import type { NativeDriver, NativeDriverOptions, NativeEpochRecord, NativeLayer, NativeProgress } from './native-types';
import { CrossEntropyLoss } from './nn/loss';
import { Linear } from './nn/linear';
import { ReLU } from './nn/activation';
import { Sequential } from './nn/sequential';
import { SGD } from './optim/sgd';
import { defaultGenerator } from './random';

/** What a Trainer trains with, and how. */
export interface TrainerOptions {
  /** Required by fit(); evaluate() needs none. */
  optimizer?: SGD;
  loss: CrossEntropyLoss;
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
  /** Training accuracy over the epoch so far. */
  accuracy: number;
  samplesPerSecond: number;
  /** Seconds since the epoch began. */
  seconds: number;
}

/** One finished epoch. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  /** Loss and accuracy on the validation set (null without one). */
  valLoss: number | null;
  valAccuracy: number | null;
  samplesPerSecond: number;
  seconds: number;
}

/** What fit() resolves to. */
export interface History {
  epochs: EpochRecord[];
  /** Which executor ran the steps: the backend's 'fused' one or the 'composed' reference. */
  executor: 'fused' | 'composed';
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
  validation?: Dataset;
  /** Aborting stops training at the next step boundary; fit rejects with an AbortError. */
  signal?: AbortSignal;
  /** About 10 a second; may return a promise (not awaited: a rejection ends training and rejects fit). */
  onBatchEnd?: (progress: BatchProgress) => void | Promise<void>;
  /** After each epoch (and its validation); fit waits for the promise it returns before the next epoch. */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
}

/** Loss and accuracy over a dataset. */
export interface Evaluation {
  loss: number;
  accuracy: number;
}

/**
 * Trains a model with the native training driver: whole SGD steps run natively on a worker thread
 * (the event loop stays free); progress arrives as callbacks on the JS thread.
 */
export class Trainer {
  readonly model: Sequential;
  readonly optimizer: SGD | null;
  readonly loss: CrossEntropyLoss;
  private readonly execution: Pick<NativeDriverOptions, 'fusion' | 'tf32' | 'cudaClusterLayer1'>;
  private driver: NativeDriver | null = null;
  private driverKey: unknown[] = [];
  // The driver of the fit in progress, and whether stop() was called during it.
  private running: NativeDriver | null = null;
  private stopping = false;

  constructor(model: Sequential, options: TrainerOptions) {
    if (!(model instanceof Sequential)) throw new TypeError(`Trainer needs an nn.Sequential of Linear and ReLU layers, got ${describe(model)}`);
    if (!options || typeof options !== 'object') throw new TypeError(`Trainer options must be an object, got ${describe(options)}`);
    if (options.optimizer !== undefined && !(options.optimizer instanceof SGD)) {
      throw new TypeError(`Trainer options.optimizer must be an optim.SGD, got ${describe(options.optimizer)}`);
    }
    if (options.optimizer && options.optimizer.paramGroups.length !== 1) {
      throw new TypeError(`Trainer runs an optimizer with one parameter group, got ${options.optimizer.paramGroups.length}`);
    }
    if (!(options.loss instanceof CrossEntropyLoss)) throw new TypeError(`Trainer options.loss must be an nn.CrossEntropyLoss, got ${describe(options.loss)}`);
    if (!options.loss.isPlain) {
      throw new TypeError('Trainer runs nn.CrossEntropyLoss with its defaults (mean, no class weights, no label smoothing); ' +
        'train other settings in an eager loop');
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
    this.layers(); // fails early on an unsupported model
  }

  /**
   * Trains for `epochs` epochs; resolves to the per-epoch history. With an `onEpochEnd` callback
   * each epoch is its own native run and fit waits for the callback (which may be async) before
   * the next: the weights are readable and save() works there, and changes to the optimizer (its
   * lr, say, or a scheduler's step) apply from the next epoch. Without one, all epochs run in one
   * native call. `stop()` ends training after the epoch in progress; a callback that throws or
   * rejects ends it too, and fit rejects with that error.
   */
  async fit(dataset: Dataset, options: FitOptions = {}): Promise<History> {
    const opts = checkFitOptions(dataset, options);
    if (!this.optimizer) throw new TypeError('Trainer.fit needs options.optimizer (an optim.SGD) given to the Trainer');
    this.checkClasses(dataset, 'dataset');
    if (opts.validation) this.checkClasses(opts.validation, 'fit validation');
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const device = this.model.device;
    const train = deviceData(dataset, device);
    const validation = opts.validation ? deviceData(opts.validation, device) : null;
    const stepsPerEpoch = Math.ceil(dataset.length / opts.batchSize);
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
    const onProgress = (p: NativeProgress): void => {
      if (p.kind === 'epoch' || !opts.onBatchEnd || run.failure) return;
      const progress = { epoch: p.epoch, step: p.step, stepsPerEpoch: p.stepsPerEpoch, loss: p.loss, accuracy: p.accuracy,
        samplesPerSecond: p.samplesPerSecond, seconds: p.seconds };
      call(() => opts.onBatchEnd!(progress));
    };
    const onAbort = (): void => run.driver?.abort();
    opts.signal?.addEventListener('abort', onAbort);
    this.stopping = false;
    const history: EpochRecord[] = [];
    let executor: History['executor'] = 'composed';
    try {
      // One native run of all epochs, or (with onEpochEnd) one per epoch.
      const perEpoch = opts.onEpochEnd !== undefined;
      const count = opts.epochs - opts.initialEpoch;
      for (let first = opts.initialEpoch; first < opts.epochs && !this.stopping && !run.failure; first += perEpoch ? 1 : count) {
        const driver = this.nativeDriver();
        run.driver = driver;
        this.running = driver;
        executor = driver.executor;
        trackRunning(driver);
        let records: NativeEpochRecord[];
        try {
          records = await driver.fit({
            images: train.images, labels: train.labels, epochs: perEpoch ? 1 : count, firstEpoch: first,
            batchSize: opts.batchSize, shuffle: opts.shuffle, seed: opts.seed, dropLast: opts.dropLast,
            scale: dataset.scale, shift: dataset.shift, validation,
            progressEvery: Math.max(1, Math.min(100, Math.floor(stepsPerEpoch / 20))),
          }, onProgress);
        } finally {
          runningDrivers.delete(driver);
          this.running = null;
        }
        for (const r of records) {
          const record = epochRecord(r as unknown as EpochRecord);
          history.push(record);
          if (perEpoch && !run.failure) {
            try {
              await opts.onEpochEnd!(record);
            } catch (err) {
              fail(err);
            }
          }
        }
      }
    } catch (err) {
      if (run.failure) throw run.failure.error;
      if ((err as { code?: string }).code === 'ABORT_ERR') throw abortReason(opts.signal);
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (run.failure) throw run.failure.error;
    return { epochs: history, executor, stopped: this.stopping && history.length < opts.epochs - opts.initialEpoch, seed: opts.seed };
  }

  /**
   * Ends the running fit() after the epoch in progress (its record and callbacks included); fit
   * resolves with the history so far. Call it from a callback (see {@link EarlyStopping}) or anywhere.
   */
  stop(): void {
    this.stopping = true;
    this.running?.stopAfterEpoch();
  }

  /** Mean loss and accuracy of the model over `dataset`, computed natively off the JS thread. */
  async evaluate(dataset: Dataset, options: { batchSize?: number } = {}): Promise<Evaluation> {
    checkDataset(dataset, 'dataset');
    this.checkClasses(dataset, 'dataset');
    const batchSize = options.batchSize ?? 1000;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be an integer >= 1, got ${describe(batchSize)}`);
    const data = deviceData(dataset, this.model.device);
    return this.nativeDriver().evaluate(data.images, data.labels, batchSize, dataset.scale, dataset.shift);
  }

  // The model as the driver's layer list: Linear layers, each optionally followed by a ReLU.
  private layers(): { linear: Linear; relu: boolean }[] {
    const out: { linear: Linear; relu: boolean }[] = [];
    this.model.layers.forEach((m, i) => {
      if (m instanceof Linear) {
        if (!m.bias) throw new TypeError(`Trainer: layer ${i} is a Linear without bias, which the training driver does not support`);
        out.push({ linear: m, relu: false });
      } else if (m instanceof ReLU && out.length > 0 && !out[out.length - 1].relu && this.model.layers[i - 1] instanceof Linear) {
        out[out.length - 1].relu = true;
      } else {
        throw new TypeError(`Trainer: layer ${i} (${m.constructor.name}) is not supported; use Linear layers, each optionally followed by one ReLU`);
      }
    });
    if (out.length === 0) throw new TypeError('Trainer: the model has no Linear layer');
    const params = this.model.parameters();
    const opt = this.optimizer;
    if (opt && (opt.params.length !== params.length || opt.params.some((p, i) => p !== params[i]))) {
      throw new TypeError("Trainer: the optimizer must hold exactly the model's parameters, in model.parameters() order");
    }
    return out;
  }

  // Labels index the last layer's outputs: a dataset with more classes than the model has outputs
  // cannot be trained or evaluated (the native side trusts this check).
  private checkClasses(dataset: Dataset, what: string): void {
    const layers = this.layers();
    const outputs = layers[layers.length - 1].linear.outFeatures;
    if (dataset.numClasses > outputs) {
      throw new RangeError(`${what} has ${dataset.numClasses} classes but the model's last Linear layer gives ${outputs} outputs`);
    }
  }

  // The native driver for the current parameters, optimizer state and options (rebuilt when any changes).
  private nativeDriver(): NativeDriver {
    const opt = this.optimizer;
    const optimizer = opt ? opt.nativeOptions() : { kind: 'sgd' as const, lr: 0, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };
    let k = 0;
    const state = (): NativeDriverOptions['layers'][number]['weightState'] => (opt ? opt.state(k++) : []);
    const layers: NativeLayer[] = this.layers().map(({ linear, relu }) => ({
      weight: linear.weight.native, bias: (linear.bias as Linear['weight']).native,
      activation: relu ? 'relu' : 'none', slope: 0.01, weightState: state(), biasState: state(),
    }));
    const steps = opt ? opt.steps : native.Tensor.zeros([2 * layers.length], 'int32', 'cpu');
    const key = [...layers.flatMap((l) => [l.weight, l.bias, l.activation, ...l.weightState, ...l.biasState]), steps,
      JSON.stringify(optimizer), JSON.stringify(this.execution)];
    if (!this.driver || key.length !== this.driverKey.length || key.some((x, i) => x !== this.driverKey[i])) {
      this.driver = new native.Driver({ layers, loss: 'crossEntropy', optimizer, steps, ...this.execution });
      this.driverKey = key;
    }
    return this.driver;
  }
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

function epochRecord(r: EpochRecord): EpochRecord {
  return { epoch: r.epoch, loss: r.loss, accuracy: r.accuracy, valLoss: r.valLoss ?? null, valAccuracy: r.valAccuracy ?? null,
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
  const ok = typeof d === 'object' && d !== null && (d as Dataset).images instanceof Uint8Array && (d as Dataset).labels instanceof Uint8Array;
  if (!ok) throw new TypeError(`${what} must be a Dataset (e.g. from datasets.mnist()), got ${describe(d)}`);
}

interface CheckedFitOptions {
  epochs: number;
  initialEpoch: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  dropLast: boolean;
  validation?: Dataset;
  signal?: AbortSignal;
  onBatchEnd?: (p: BatchProgress) => void;
  onEpochEnd?: (r: EpochRecord) => void;
}

function checkFitOptions(dataset: Dataset, o: FitOptions): CheckedFitOptions {
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
  };
}
