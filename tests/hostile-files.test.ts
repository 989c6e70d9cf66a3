// Hostile files (issue: reliability II, items 1-3): a gzip bomb is refused as soon as its output
// runs past what its IDX header declares; devices, FIFOs and directories are refused without
// blocking; a file whose first bytes and size disagree is refused before its data is read.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { describe, expect, it } from 'vitest';
import { datasets, load, loadCheckpoint, nn, parseIdx, readCsv, readIdx } from '../dist/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-hostile-'));
const BOMB = path.join(__dirname, 'fuzz', 'corpus', 'bomb-10x28x28.idx.gz');
const rssMB = () => process.memoryUsage().rss / 2 ** 20;

function idxHeader(dims: number[]): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = 8;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return h;
}

describe('gzip bombs', () => {
  it('the corpus bomb (7,840 bytes declared, 64 MiB inside) is refused by readIdx and parseIdx, naming the sizes', async () => {
    const want = /longer than its header says: dimensions \[10, 28, 28\] need 7840 data bytes \(7856 bytes in all\), found more than 7840/;
    await expect(readIdx(BOMB)).rejects.toThrow(want);
    expect(() => parseIdx(fs.readFileSync(BOMB), 'bomb')).toThrow(want);
  });

  it('a 256 MiB bomb is refused without the memory its contents would take', async () => {
    // 256 MiB of zeros after the header, gzip level 1, written in pieces (about 1.1 MB on disk).
    const file = path.join(dir, 'bomb-256m.idx.gz');
    const gz = zlib.createGzip({ level: 1 });
    const out = fs.createWriteStream(file);
    gz.pipe(out);
    gz.write(idxHeader([10, 28, 28]));
    const zeros = Buffer.alloc(1 << 24);
    for (let i = 0; i < 16; i++) gz.write(zeros);
    gz.end();
    await new Promise((resolve) => out.on('finish', resolve));
    const before = rssMB();
    await expect(readIdx(file)).rejects.toThrow(/longer than its header says/);
    expect(() => parseIdx(fs.readFileSync(file), file)).toThrow(/longer than its header says/);
    expect(rssMB() - before).toBeLessThan(100);
  });
});

describe('files that are not regular files', () => {
  const model = () => new nn.Sequential(new nn.Linear(2, 2));
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const cases: [string, string, RegExp][] = [
    ['a FIFO', fifo, /expected a regular file, found a FIFO/],
    ['/dev/zero', '/dev/zero', /expected a regular file, found a character device/],
    ['a directory', dir, /expected a regular file, found a directory/],
  ];
  for (const [what, file, want] of cases) {
    it(`${what} is refused at once by readIdx, load, loadCheckpoint and readCsv`, async () => {
      await expect(readIdx(file)).rejects.toThrow(want);
      await expect(load(model(), file)).rejects.toThrow(want);
      await expect(loadCheckpoint(file, { model: model() })).rejects.toThrow(want);
      await expect(readCsv(file)).rejects.toThrow(want);
    });
  }
});

describe('sizes decided by the first bytes', () => {
  it('a sparse 1 GiB safetensors file is refused by its header length or its tensor extents before its data is read', async () => {
    const huge = path.join(dir, 'sparse-length.safetensors');
    const fd = fs.openSync(huge, 'w');
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(2n ** 40n);
    fs.writeSync(fd, head, 0, 8, 0);
    fs.ftruncateSync(fd, 2 ** 30);
    fs.closeSync(fd);
    const before = rssMB();
    await expect(load(new nn.Sequential(new nn.Linear(2, 2)), huge)).rejects.toThrow(/header length 1099511627776 exceeds the 1073741816 bytes after the length field/);

    const extents = path.join(dir, 'sparse-extents.safetensors');
    const json = Buffer.from(JSON.stringify({ '0.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }));
    const fd2 = fs.openSync(extents, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.writeSync(fd2, Buffer.concat([len, json]), 0, 8 + json.length, 0);
    fs.ftruncateSync(fd2, 2 ** 30);
    fs.closeSync(fd2);
    await expect(load(new nn.Sequential(new nn.Linear(2, 2)), extents)).rejects.toThrow(/its tensors end at byte \d+ of the file, which has 1073741824/);
    expect(rssMB() - before).toBeLessThan(100);
  });

  it('a raw IDX file whose header and size disagree is refused before its data is read', async () => {
    const file = path.join(dir, 'sparse.idx');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, idxHeader([10, 28, 28]));
    fs.ftruncateSync(fd, 2 ** 30);
    fs.closeSync(fd);
    const before = rssMB();
    await expect(readIdx(file)).rejects.toThrow(/longer than its header says: dimensions \[10, 28, 28\] need 7840 data bytes \(7856 bytes in all\), found 1073741808/);
    expect(rssMB() - before).toBeLessThan(100);
  });
});

describe('errors that name their file', () => {
  it('mnist() names the labels file holding a label out of range', async () => {
    const mnistDir = fs.mkdtempSync(path.join(dir, 'mnist-'));
    for (const prefix of ['train', 't10k']) {
      fs.writeFileSync(path.join(mnistDir, `${prefix}-images-idx3-ubyte`), Buffer.concat([idxHeader([1, 28, 28]), Buffer.alloc(784)]));
      fs.writeFileSync(path.join(mnistDir, `${prefix}-labels-idx1-ubyte`), Buffer.concat([idxHeader([1]), Buffer.from([prefix === 'train' ? 12 : 3])]));
    }
    await expect(datasets.mnist({ dir: mnistDir })).rejects.toThrow(/mnist: .*train-labels-idx1-ubyte: Dataset: expected every label to be < 10, label 0 is 12/);
  });
});
