// Float datasets: TensorDataset from typed arrays and nested arrays, CSV files through csv-parse,
// and DataLoader batches of the right dtypes and shapes, in the seeded order.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { DataLoader, parseCsv, readCsv, TensorDataset } from '../dist/index.js';

const rows = (n: number, f: number) => Array.from({ length: n }, (_, i) => Array.from({ length: f }, (_, j) => i * 10 + j + 0.5));

describe('TensorDataset', () => {
  it('holds nested-array features with class labels; numClasses defaults to the largest label + 1', () => {
    const ds = new TensorDataset({ features: rows(5, 3), labels: [0, 2, 1, 2, 0] });
    expect([ds.length, ds.featureCount, ds.numClasses]).toEqual([5, 3, 3]);
    expect(Array.from(ds.features.subarray(3, 6))).toEqual([10.5, 11.5, 12.5]);
    expect(ds.labels).toBeInstanceOf(Int32Array);
    expect(ds.targets).toBeNull();
  });

  it('holds Float32Array features with float targets of shape [N] or [N, K]', () => {
    const flat = new TensorDataset({ features: new Float32Array(12), featureCount: 4, targets: [1, 2, 3] });
    expect(flat.targetShape).toEqual([]);
    const wide = new TensorDataset({ features: new Float32Array(12), featureCount: 4, targets: [[1, 2], [3, 4], [5, 6]] });
    expect(wide.targetShape).toEqual([2]);
    expect(Array.from(wide.targets!)).toEqual([1, 2, 3, 4, 5, 6]);
    const typed = new TensorDataset({ features: new Float32Array(12), featureCount: 4, targets: new Float32Array(6), targetCount: 2 });
    expect(typed.targetShape).toEqual([2]);
  });

  it('refuses bad input with messages naming what is wrong', () => {
    expect(() => new TensorDataset({ features: [[1, 2], [3]], labels: [0, 1] })).toThrow(/features\[1\] has 1 values, expected 2/);
    expect(() => new TensorDataset({ features: [[1, NaN]], labels: [0] })).toThrow(/features\[0\]\[1\] is NaN/);
    expect(() => new TensorDataset({ features: [[1, 2]], labels: [0.5] })).toThrow(/labels\[0\] is 0.5/);
    expect(() => new TensorDataset({ features: [[1, 2]], labels: [3], numClasses: 2 })).toThrow(/label 3 is not below numClasses 2/);
    expect(() => new TensorDataset({ features: [[1, 2]], labels: [0], targets: [1] })).toThrow(/either labels .* or targets/);
    expect(() => new TensorDataset({ features: new Float32Array(5), featureCount: 2, targets: [1, 2] })).toThrow(/not a positive multiple/);
    expect(() => new TensorDataset({ features: [[1, 2], [3, 4]], targets: [1] })).toThrow(/2 samples but 1 targets/);
  });

  it('subset views the same arrays', () => {
    const ds = new TensorDataset({ features: rows(6, 2), targets: [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]] });
    const sub = ds.subset(2, 4);
    expect(sub.length).toBe(2);
    expect(Array.from(sub.targets!)).toEqual([4, 5, 6, 7]);
    expect(sub.features.buffer).toBe(ds.features.buffer);
  });
});

describe('DataLoader over a TensorDataset', () => {
  it('yields float32 x and int32 y in the shuffled order, every sample once per epoch', () => {
    const n = 37;
    const ds = new TensorDataset({ features: rows(n, 3), labels: Array.from({ length: n }, (_, i) => i % 5) });
    const loader = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 4 });
    const seen: number[] = [];
    for (const { x, y } of loader) {
      expect(x.dtype).toBe('float32');
      expect(y.dtype).toBe('int32');
      const xs = x.toArray(), ys = y.toArray<'int32'>();
      for (let r = 0; r < y.shape[0]; r++) {
        const sample = Math.round((xs[r * 3] - 0.5) / 10);
        seen.push(sample);
        expect(ys[r]).toBe(sample % 5);
        expect([xs[r * 3 + 1], xs[r * 3 + 2]]).toEqual([sample * 10 + 1.5, sample * 10 + 2.5]);
      }
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(seen).not.toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('yields float targets [B] and [B, K] with dropLast', () => {
    const flat = new TensorDataset({ features: rows(10, 2), targets: Array.from({ length: 10 }, (_, i) => i / 2) });
    const batches = [...new DataLoader(flat, { batchSize: 4, dropLast: true })];
    expect(batches.map((b) => b.y.shape)).toEqual([[4], [4]]);
    expect(Array.from(batches[1].y.toArray())).toEqual([2, 2.5, 3, 3.5]);
    const wide = new TensorDataset({ features: rows(3, 2), targets: [[1, 2], [3, 4], [5, 6]] });
    const [b] = [...new DataLoader(wide, { batchSize: 3 })];
    expect(b.y.shape).toEqual([3, 2]);
    expect(Array.from(b.y.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('CSV', () => {
  it('reads a file with a header, the target named, as regression or classification', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-csv-'));
    const file = path.join(dir, 'data.csv');
    fs.writeFileSync(file, 'x1,label,x2\r\n1,0,2\r\n"3",1,4\r\n\r\n5,2,6\r\n');
    const reg = await readCsv(file, { target: 'label' });
    expect([reg.length, reg.featureCount]).toEqual([3, 2]);
    expect(Array.from(reg.features)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(reg.targets!)).toEqual([0, 1, 2]);
    const cls = await readCsv(file, { target: 1, task: 'classification' });
    expect(Array.from(cls.labels!)).toEqual([0, 1, 2]);
    expect(cls.numClasses).toBe(3);
    fs.rmSync(dir, { recursive: true });
  });

  it('takes the last column as the target and detects a missing header', () => {
    const ds = parseCsv('1;2;3\n4;5;6\n', { delimiter: ';' });
    expect(Array.from(ds.features)).toEqual([1, 2, 4, 5]);
    expect(Array.from(ds.targets!)).toEqual([3, 6]);
  });

  it('names the row and column of a bad cell, and refuses ragged rows and unknown targets', async () => {
    expect(() => parseCsv('a,b\n1,2\n3,oops\n')).toThrow('CSV row 3, column 2 (b): "oops" is not a number');
    expect(() => parseCsv('a,b\n1,2\n3,\n')).toThrow(/row 3, column 2/);
    expect(() => parseCsv('a,b\n1,2\n3\n')).toThrow(RangeError);
    expect(() => parseCsv('a,b\n1,2\n', { target: 'c' })).toThrow(/no target column "c" \(columns: a, b\)/);
    expect(() => parseCsv('a,b\n1,2.5\n', { task: 'classification' })).toThrow(/2.5 is not a class index/);
    await expect(readCsv('/nonexistent/file.csv')).rejects.toThrow(/ENOENT/);
  });
});
