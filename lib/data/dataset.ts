// An in-memory classification dataset: unsigned-byte samples and their class labels.
//
// Samples stay as bytes (a quarter of the memory of float32, and what the native batch gather
// reads); the normalisation is carried as an affine map applied when a batch is built.

/** Per-dataset input normalisation: x = u8/255, then (x − mean)/std. */
export interface Normalization {
  /** Subtracted after scaling to [0, 1]. */
  mean: number;
  /** Divided by after subtracting the mean; must be > 0. */
  std: number;
}

/** What a {@link Dataset} is built from. */
export interface DatasetOptions {
  /** Samples, row-major [length, features]. */
  images: Uint8Array;
  /** One class index per sample, each < `numClasses`. */
  labels: Uint8Array;
  /** Values per sample (784 for a 28×28 image). */
  features: number;
  /** The number of classes; defaults to 10 (the MNIST digits). */
  numClasses?: number;
  /** Defaults to `{ mean: 0, std: 1 }`, i.e. x = u8/255. */
  normalization?: Normalization;
}

const IDENTITY: Readonly<Normalization> = Object.freeze({ mean: 0, std: 1 });

function checkPositiveInteger(value: number, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`Dataset: expected ${what} to be an integer in [1, ${max}], got ${describe(value)}`);
  }
}

function checkNormalization(n: Normalization): void {
  if (typeof n !== 'object' || n === null) {
    throw new TypeError(`Dataset: expected normalization to be { mean, std }, got ${describe(n)}`);
  }
  if (typeof n.mean !== 'number' || !Number.isFinite(n.mean)) {
    throw new RangeError(`Dataset: expected normalization.mean to be a finite number, got ${describe(n.mean)}`);
  }
  if (typeof n.std !== 'number' || !Number.isFinite(n.std) || n.std <= 0) {
    throw new RangeError(`Dataset: expected normalization.std to be a finite number > 0, got ${describe(n.std)}`);
  }
}

/**
 * A classification dataset held in memory: `length` samples of `features` unsigned bytes each,
 * with one label per sample.
 *
 * @example
 * const ds = new Dataset({ images, labels, features: 784, normalization: { mean: 0.1307, std: 0.3081 } });
 * const firstThousand = ds.subset(0, 1000);   // a view, no copy
 */
export class Dataset {
  /** Samples, row-major [length, features]. */
  readonly images: Uint8Array;
  /** Class index of each sample, [length]. */
  readonly labels: Uint8Array;
  /** The number of samples. */
  readonly length: number;
  /** Values per sample. */
  readonly features: number;
  /** The number of classes; every label is < this. */
  readonly numClasses: number;
  /** How bytes become model inputs: x = u8/255, then (x − mean)/std. */
  readonly normalization: Readonly<Normalization>;

  /**
   * @throws TypeError when images or labels is not a Uint8Array; RangeError when `features` or
   *   `numClasses` is not a positive integer, when `images.length` is not `labels.length · features`,
   *   when a label is ≥ `numClasses` (the message names the first such index and value), or when
   *   the normalisation is not finite with std > 0.
   */
  constructor(options: DatasetOptions) {
    const { images, labels, features, numClasses = 10, normalization = IDENTITY } = options;
    if (!(images instanceof Uint8Array)) {
      throw new TypeError(`Dataset: expected images to be a Uint8Array, got ${describe(images)}`);
    }
    if (!(labels instanceof Uint8Array)) {
      throw new TypeError(`Dataset: expected labels to be a Uint8Array, got ${describe(labels)}`);
    }
    // A native int indexes the features of a sample.
    checkPositiveInteger(features, 'features', 2 ** 31 - 1);
    // Labels are bytes, so more than 256 classes could never be labelled.
    checkPositiveInteger(numClasses, 'numClasses', 256);
    if (images.length !== labels.length * features) {
      throw new RangeError(
        `Dataset: expected images.length = labels.length · features = ${labels.length} · ${features} = ` +
        `${labels.length * features}, got ${images.length}`);
    }
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] >= numClasses) {
        throw new RangeError(`Dataset: expected every label to be < ${numClasses}, label ${i} is ${labels[i]}`);
      }
    }
    checkNormalization(normalization);
    this.images = images;
    this.labels = labels;
    this.length = labels.length;
    this.features = features;
    this.numClasses = numClasses;
    this.normalization = Object.freeze({ mean: normalization.mean, std: normalization.std });
  }

  /** Multiplier of the affine input map x = u8·scale + shift: 1/(255·std). */
  get scale(): number {
    return 1 / (255 * this.normalization.std);
  }

  /** Offset of the affine input map x = u8·scale + shift: −mean/std. */
  get shift(): number {
    // + 0 turns the −0 of a zero mean into 0.
    return -this.normalization.mean / this.normalization.std + 0;
  }

  /**
   * Samples [start, end) as a new Dataset whose images and labels are views into this one's
   * (no copy); the normalisation and class count carry over.
   *
   * @param start - first sample, 0 ≤ start ≤ end.
   * @param end - one past the last sample, ≤ length; defaults to length.
   * @throws RangeError when the bounds are not integers with 0 ≤ start ≤ end ≤ length.
   */
  subset(start: number, end: number = this.length): Dataset {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > this.length) {
      throw new RangeError(
        `Dataset.subset: expected integers 0 ≤ start ≤ end ≤ ${this.length}, got start ${start}, end ${end}`);
    }
    return new Dataset({
      images: this.images.subarray(start * this.features, end * this.features),
      labels: this.labels.subarray(start, end),
      features: this.features,
      numClasses: this.numClasses,
      normalization: this.normalization,
    });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
