// An in-memory dataset of float32 features with int32 class labels or float32 regression targets,
// built from typed arrays or nested JS arrays (or read from a CSV file by readCsv).
import { describe } from '../device';

/** What a {@link TensorDataset} is built from: features, and labels or targets (not both). */
export interface TensorDatasetOptions {
  /** Samples: rows of numbers, or a row-major Float32Array with `featureCount` values per sample. */
  features: Float32Array | readonly (readonly number[])[];
  /** Values per sample, for Float32Array features. */
  featureCount?: number;
  /** Class indices, one per sample (integers >= 0): a classification dataset (int32 y). */
  labels?: Int32Array | readonly number[];
  /** The number of classes (default: the largest label + 1); every label is below it. */
  numClasses?: number;
  /** Regression targets: one number per sample ([N]), rows of numbers ([N, K]), or a Float32Array. */
  targets?: Float32Array | readonly number[] | readonly (readonly number[])[];
  /** Values per sample of Float32Array targets giving [N, K]; omitted: [N]. */
  targetCount?: number;
}

function fail(message: string): never {
  throw new RangeError(`TensorDataset: ${message}`);
}

// Rows of numbers → a row-major Float32Array; every value finite.
function fromRows(rows: readonly (readonly number[])[], what: string): { data: Float32Array; width: number } {
  if (rows.length === 0) fail(`${what} is empty`);
  const width = rows[0]?.length;
  if (!Number.isInteger(width) || width < 1) fail(`${what}[0] must be a non-empty array of numbers`);
  const data = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== width) fail(`${what}[${i}] has ${Array.isArray(row) ? row.length : 'no'} values, expected ${width}`);
    row.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${what}[${i}][${j}] is ${describe(v)}, expected a finite number`);
      data[i * width + j] = v;
    });
  });
  return { data, width };
}

function checkFinite(data: Float32Array, what: string): void {
  const i = data.findIndex((v) => !Number.isFinite(v));
  if (i >= 0) fail(`${what}[${i}] is ${data[i]}, expected a finite number`);
}

/**
 * Samples of float32 features [N, F] with int32 class labels [N] (classification) or float32
 * targets [N] or [N, K] (regression). DataLoader yields batches of x float32 [B, F] and y int32
 * [B] or float32 [B] / [B, K].
 *
 * @example
 * const ds = new TensorDataset({ features: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0] });
 */
export class TensorDataset {
  readonly features: Float32Array;
  /** Values per sample. */
  readonly featureCount: number;
  readonly length: number;
  /** Class labels (classification), else null. */
  readonly labels: Int32Array | null;
  /** The number of classes (0 for regression). */
  readonly numClasses: number;
  /** Regression targets, row-major, else null. */
  readonly targets: Float32Array | null;
  /** The shape of one target: [] for [N] targets, [K] for [N, K]. */
  readonly targetShape: readonly number[];

  constructor(options: TensorDatasetOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('TensorDataset: expected an options object');
    const { features, labels, targets } = options;
    let x: Float32Array, width: number;
    if (features instanceof Float32Array) {
      width = options.featureCount ?? fail('featureCount is required with Float32Array features');
      if (!Number.isInteger(width) || width < 1) fail(`featureCount must be an integer >= 1, got ${width}`);
      if (features.length === 0 || features.length % width !== 0) fail(`features.length ${features.length} is not a positive multiple of featureCount ${width}`);
      checkFinite(features, 'features');
      x = features;
    } else if (Array.isArray(features)) {
      ({ data: x, width } = fromRows(features, 'features'));
    } else {
      throw new TypeError(`TensorDataset: features must be a Float32Array or an array of rows, got ${typeof features}`);
    }
    const n = x.length / width;
    if ((labels === undefined) === (targets === undefined)) fail('give either labels (classification) or targets (regression)');
    this.features = x;
    this.featureCount = width;
    this.length = n;
    if (labels !== undefined) {
      if (!(labels instanceof Int32Array) && !Array.isArray(labels)) throw new TypeError('TensorDataset: labels must be an Int32Array or an array of integers');
      if (labels.length !== n) fail(`${n} samples but ${labels.length} labels`);
      const raw = labels as ArrayLike<number>;
      const y = new Int32Array(n);
      let top = -1;
      for (let i = 0; i < n; i++) {
        const v = raw[i];
        if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) fail(`labels[${i}] is ${v}, expected an integer class index >= 0`);
        y[i] = v;
        top = Math.max(top, v);
      }
      const numClasses = options.numClasses ?? top + 1;
      if (!Number.isInteger(numClasses) || numClasses < 1) fail(`numClasses must be an integer >= 1, got ${numClasses}`);
      if (top >= numClasses) fail(`label ${top} is not below numClasses ${numClasses}`);
      this.labels = y;
      this.numClasses = numClasses;
      this.targets = null;
      this.targetShape = [];
    } else {
      let t: Float32Array, shape: number[];
      if (targets instanceof Float32Array) {
        const k = options.targetCount;
        if (k !== undefined && (!Number.isInteger(k) || k < 1)) fail(`targetCount must be an integer >= 1, got ${k}`);
        if (targets.length !== n * (k ?? 1)) fail(`${n} samples but ${targets.length} target values`);
        checkFinite(targets, 'targets');
        t = targets;
        shape = k === undefined ? [] : [k];
      } else if (Array.isArray(targets) && targets.length > 0 && Array.isArray(targets[0])) {
        const rows = fromRows(targets as readonly (readonly number[])[], 'targets');
        if (rows.data.length / rows.width !== n) fail(`${n} samples but ${rows.data.length / rows.width} target rows`);
        t = rows.data;
        shape = [rows.width];
      } else if (Array.isArray(targets)) {
        if (targets.length !== n) fail(`${n} samples but ${targets.length} targets`);
        t = new Float32Array(n);
        (targets as readonly number[]).forEach((v, i) => {
          if (typeof v !== 'number' || !Number.isFinite(v)) fail(`targets[${i}] is ${describe(v)}, expected a finite number`);
          t[i] = v;
        });
        shape = [];
      } else {
        throw new TypeError('TensorDataset: targets must be a Float32Array, an array of numbers or an array of rows');
      }
      this.labels = null;
      this.numClasses = 0;
      this.targets = t;
      this.targetShape = shape;
    }
  }

  /** Samples [start, end) as a new TensorDataset viewing this one's arrays (no copy). */
  subset(start: number, end: number = this.length): TensorDataset {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start >= end || end > this.length) {
      throw new RangeError(`TensorDataset.subset: expected integers 0 ≤ start < end ≤ ${this.length}, got start ${start}, end ${end}`);
    }
    const f = this.featureCount, k = this.targetShape[0] ?? 1;
    const features = this.features.subarray(start * f, end * f);
    if (this.labels) return new TensorDataset({ features, featureCount: f, labels: this.labels.subarray(start, end), numClasses: this.numClasses });
    const targets = (this.targets as Float32Array).subarray(start * k, end * k);
    return new TensorDataset({ features, featureCount: f, targets, targetCount: this.targetShape[0] });
  }
}
