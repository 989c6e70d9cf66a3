// DataLoader: batches of a Dataset as tensors for the eager path, in the same seeded order as the
// Trainer (both draw the epoch's permutation from native.ops.permutation).
import { describe, resolveDevice, type DeviceSpec } from '../device';
import { native } from '../native';
import type { NativeTensor } from '../native-types';
import { defaultGenerator } from '../random';
import { Tensor } from '../tensor';
import type { Dataset } from './dataset';
import { deviceData, deviceTensors } from './device-data';
import { TensorDataset } from './tensor-dataset';

/** Options for {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Samples per batch (default 64). */
  batchSize?: number;
  /** Reshuffle every epoch (default false). */
  shuffle?: boolean;
  /** Seed of the shuffle (default: drawn from the generator that manualSeed seeds). */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize (default false: keep it). */
  dropLast?: boolean;
  /** Where batches are built (default 'cpu'). */
  device?: DeviceSpec;
}

/**
 * One batch: x float32 [B, features] (a Dataset's bytes normalised); y int32 [B] class labels, or a
 * TensorDataset's float32 targets [B] / [B, K].
 */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

/** Iterates a dataset in batches; each `for…of` is one epoch. */
export class DataLoader implements Iterable<Batch> {
  readonly dataset: Dataset | TensorDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly device: string;
  /** The index of the next epoch (0-based), which picks its shuffle; set it to resume a run. */
  epoch = 0;

  constructor(dataset: Dataset | TensorDataset, options: DataLoaderOptions = {}) {
    if (typeof dataset !== 'object' || dataset === null || !Number.isInteger((dataset as Dataset).length)) {
      throw new TypeError(`DataLoader needs a Dataset or a TensorDataset, got ${describe(dataset)}`);
    }
    this.dataset = dataset;
    const { batchSize = 64, shuffle = false, dropLast = false } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be an integer >= 1, got ${describe(batchSize)}`);
    if (typeof shuffle !== 'boolean') throw new TypeError(`shuffle must be a boolean, got ${describe(shuffle)}`);
    if (typeof dropLast !== 'boolean') throw new TypeError(`dropLast must be a boolean, got ${describe(dropLast)}`);
    const seed = options.seed ?? defaultGenerator.nextUint32();
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${describe(seed)}`);
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.seed = seed;
    this.dropLast = dropLast;
    this.device = resolveDevice(options.device ?? 'cpu');
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<Batch> {
    const n = this.dataset.length;
    const order = this.shuffle ? native.ops.permutation(n, this.seed, this.epoch) : Int32Array.from({ length: n }, (_, i) => i);
    this.epoch++;
    const ds = this.dataset;
    // The device copy is checked against the arrays once an epoch; the batches then reuse it.
    if (ds instanceof TensorDataset) deviceTensors(ds, this.device, true);
    else deviceData(ds, this.device, true);
    for (let start = 0; start < n; start += this.batchSize) {
      const end = Math.min(start + this.batchSize, n);
      if (end - start < this.batchSize && this.dropLast) return;
      const picks = order.subarray(start, end);
      yield ds instanceof TensorDataset ? this.tensorBatch(ds, picks) : this.byteBatch(ds, picks);
    }
  }

  // u8 samples gathered and scaled on the device.
  private byteBatch(ds: Dataset, picks: Int32Array): Batch {
    const { images, labels } = deviceData(ds, this.device, false);
    const { x, y } = native.ops.gatherBatch(images, labels, picks, ds.scale, ds.shift);
    return { x: new Tensor(x), y: new Tensor(y) };
  }

  // Rows of features and of labels or targets, gathered on the device.
  private tensorBatch(ds: TensorDataset, picks: Int32Array): Batch {
    const { features, labels, targets } = deviceTensors(ds, this.device, false);
    const x = new Tensor(native.ops.gatherRows(features, picks));
    return { x, y: new Tensor(native.ops.gatherRows((labels ?? targets) as NativeTensor, picks)) };
  }
}
