// The training report's parts against independent references (zlib's inflate and CRC-32 for the
// PNG encoder, logits computed here for the predictions), and Trainer.fit / `tinynn train` writing
// it for classification, regression and non-image data, early stops and bad paths.
// The page as Chromium renders it is checked in report-chromium.test.ts.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crc32 as zlibCrc32, inflateSync } from 'zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Dataset, manualSeed, nn, optim, TensorDataset, Trainer } from '../dist/index.js';
import { crc32, encodeGrayPng } from '../dist/report/png.js';
import { confusionMatrix, mostConfidentlyWrong, predict, type Predictions } from '../dist/report/predictions.js';
import { axisTicks, lineChart } from '../dist/report/svg-chart.js';
import { escapeHtml } from '../dist/report/markup.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-report-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// PNG chunks as [type, data], each chunk's CRC checked with zlib's CRC-32.
function pngChunks(png: Buffer): [string, Buffer][] {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks: [string, Buffer][] = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    expect(png.readUInt32BE(at + 8 + length)).toBe(zlibCrc32(png.subarray(at + 4, at + 8 + length)));
    chunks.push([type, data]);
    at += 12 + length;
  }
  return chunks;
}

describe('PNG encoder', () => {
  it('CRC-32 matches zlib.crc32', () => {
    for (const text of ['', 'a', 'IEND', 'The quick brown fox jumps over the lazy dog']) {
      expect(crc32(Buffer.from(text))).toBe(zlibCrc32(text));
    }
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926); // the CRC-32 check value
  });

  it('writes 8-bit grayscale whose inflated scanlines hold the pixels', () => {
    const [w, h] = [5, 3];
    const pixels = Uint8Array.from({ length: w * h }, (_, i) => (i * 37) % 256);
    const chunks = pngChunks(encodeGrayPng(pixels, w, h));
    expect(chunks.map(([t]) => t)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const ihdr = chunks[0][1];
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ...ihdr.subarray(8)]).toEqual([w, h, 8, 0, 0, 0, 0]);
    const raw = inflateSync(chunks[1][1]);
    expect(raw.length).toBe((w + 1) * h);
    for (let y = 0; y < h; y++) {
      expect(raw[y * (w + 1)]).toBe(0);
      expect([...raw.subarray(y * (w + 1) + 1, (y + 1) * (w + 1))]).toEqual([...pixels.subarray(y * w, (y + 1) * w)]);
    }
  });

  it('refuses a size that does not match the pixels', () => {
    expect(() => encodeGrayPng(new Uint8Array(6), 2, 2)).toThrow(/2 x 2 needs 4 pixels, got 6/);
    expect(() => encodeGrayPng(new Uint8Array(0), 0, 0)).toThrow(RangeError);
  });
});

describe('predictions', () => {
  const hand: Predictions = {
    classes: 3,
    labels: Int32Array.of(0, 1, 2, 2, 1, 0, 2),
    predicted: Int32Array.of(0, 2, 2, 0, 1, 1, 1),
    confidence: Float32Array.of(0.9, 0.8, 0.7, 0.95, 0.6, 0.8, 0.5),
  };

  it('confusion matrix counts [true][predicted]', () => {
    expect(confusionMatrix(hand)).toEqual([[1, 1, 0], [0, 1, 1], [1, 1, 1]]);
  });

  it('most confidently wrong: wrong ones only, by confidence, ties by index', () => {
    expect(mostConfidentlyWrong(hand, 3).map((w) => w.index)).toEqual([3, 1, 5]);
    expect(mostConfidentlyWrong(hand, 10).map((w) => w.index)).toEqual([3, 1, 5, 6]);
    expect(mostConfidentlyWrong(hand, 1)[0]).toMatchObject({ index: 3, label: 2, predicted: 0 });
  });

  it('predict() takes the softmax of the model in eval mode, in dataset order', async () => {
    manualSeed(3);
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.Dropout(0.5));
    const features = Float32Array.from({ length: 3 * 50 }, (_, i) => Math.sin(i * 1.7) * 2);
    const labels = Int32Array.from({ length: 50 }, (_, i) => i % 4);
    const ds = new TensorDataset({ features, featureCount: 3, labels, numClasses: 4 });
    const w = model.parameters()[0].toArray();
    const b = model.parameters()[1].toArray();
    const p = await predict(model, ds, 7);
    expect(model.training).toBe(true);
    if ('reason' in p) throw new Error(p.reason);
    for (let i = 0; i < 50; i++) {
      const logits = [0, 1, 2, 3].map((o) => b[o] + [0, 1, 2].reduce((s, k) => s + w[o * 3 + k] * features[i * 3 + k], 0));
      const best = logits.indexOf(Math.max(...logits));
      const z = logits.reduce((s, l) => s + Math.exp(l - logits[best]), 0);
      expect(p.predicted[i]).toBe(best);
      expect(p.confidence[i]).toBeCloseTo(1 / z, 5);
      expect(p.labels[i]).toBe(labels[i]);
    }
  });

  it('predict() gives a reason instead for regression targets', async () => {
    const ds = new TensorDataset({ features: [[1], [2]], targets: [1, 2] });
    expect(await predict(new nn.Linear(1, 1), ds)).toEqual({ reason: expect.stringMatching(/regression targets/) });
  });
});

describe('line chart', () => {
  it('ticks are round steps covering the range', () => {
    expect(axisTicks(0.18, 0.62)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(axisTicks(0.05, 0.05)).toEqual([0.045, 0.05, 0.055]);
    expect(axisTicks(0, 0)).toEqual([-1, -0.5, 0, 0.5, 1]);
  });

  it('draws one marker per value and a polyline through each run, with gaps for nulls', () => {
    const svg = lineChart({ id: 'loss', title: 'Loss <&>', x: [1, 2, 3, 4], xLabel: 'epoch',
      series: [{ name: 'a', values: [1, 2, null, 4], color: 'red' }] });
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg.match(/<polyline /g)).toHaveLength(1);
    expect(svg).toContain('Loss &#60;&#38;&#62;');
    // The largest value is highest on the page: the smallest y.
    const ys = [...svg.matchAll(/<circle [^>]*cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(ys[2]).toBeLessThan(ys[1]);
    expect(ys[1]).toBeLessThan(ys[0]);
  });

  it('escapes markup', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });
});

// A small classification problem with byte samples of `features` values (not images unless 784).
function byteDataset(n: number, features: number, classes: number, seed: number): Dataset {
  const images = new Uint8Array(n * features);
  const labels = new Uint8Array(n);
  // A weak class signal under uniform noise: a small model gets many, not all, samples right.
  let state = seed * 2654435761 >>> 0;
  const noise = (): number => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) >>> 24;
  for (let i = 0; i < n; i++) {
    labels[i] = (i * 7 + seed) % classes;
    for (let k = 0; k < features; k++) images[i * features + k] = Math.min(255, noise() + (k % classes === labels[i] ? 50 : 0));
  }
  return new Dataset({ images, labels, features, numClasses: classes });
}

function mlpTrainer(inputs: number, outputs: number, loss: nn.CrossEntropyLoss | nn.MSELoss = new nn.CrossEntropyLoss()) {
  manualSeed(1);
  const model = new nn.Sequential(new nn.Linear(inputs, 16), new nn.ReLU(), new nn.Linear(16, outputs));
  return { model, trainer: new Trainer(model, { optimizer: new optim.SGD(model.parameters(), { lr: 0.05 }), loss }) };
}

const read = (file: string): string => fs.readFileSync(file, 'utf8');
const count = (html: string, pattern: RegExp): number => html.match(pattern)?.length ?? 0;

describe('Trainer.fit report', () => {
  it('writes a self-contained page with curves, a confusion matrix summing to the validation size, and wrong samples listed', async () => {
    const { trainer } = mlpTrainer(12, 3);
    const validation = byteDataset(90, 12, 3, 5);
    const file = path.join(dir, 'bytes.html');
    const history = await trainer.fit(byteDataset(300, 12, 3, 1), { epochs: 3, batchSize: 32, seed: 1, validation, report: file });
    const html = read(file);
    for (const id of ['loss', 'accuracy', 'lr', 'throughput']) expect(html).toContain(`data-chart="${id}"`);
    expect(count(html, /<circle class="point" data-series="training"/g)).toBe(6); // loss and accuracy, 3 epochs each
    const cells = [...html.matchAll(/<td class="cell" data-count="(\d+)"/g)].map((m) => Number(m[1]));
    expect(cells).toHaveLength(9);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(90);
    // The diagonal is the accuracy the trainer measured on its own.
    expect((cells[0] + cells[4] + cells[8]) / 90).toBeCloseTo(history.epochs[2].valAccuracy!, 10);
    expect(html.includes('12 features, not 28×28 pixels')).toBe(true);
    const wrong = 90 - (cells[0] + cells[4] + cells[8]);
    expect(wrong).toBeGreaterThan(0);
    expect(count(html, /<tr class="wrong-sample"/g)).toBe(Math.min(16, wrong));
    // Nothing to fetch: no scripts, no URLs other than data: ones.
    expect(html).not.toMatch(/<script|<link|https?:|src="(?!data:)/);
    expect(html).toContain('SGD: lr 0.05');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('draws 784-feature float samples as 28×28 pictures stretched from their smallest to their largest value', async () => {
    const n = 60;
    const features = Float32Array.from({ length: n * 784 }, (_, i) => Math.sin(i * 0.37) * 3 + (i % 784) / 400);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
    const ds = new TensorDataset({ features, featureCount: 784, labels, numClasses: 4 });
    manualSeed(2);
    const model = new nn.Sequential(new nn.Linear(784, 4));
    const trainer = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), { lr: 1e-4 }), loss: new nn.CrossEntropyLoss() });
    const file = path.join(dir, 'floats.html');
    await trainer.fit(ds, { epochs: 1, validation: ds, report: file });
    const html = read(file);
    const figures = [...html.matchAll(/<figure class="wrong-sample" data-index="(\d+)"[^>]*><img src="data:image\/png;base64,([^"]+)"/g)];
    expect(figures).toHaveLength(16);
    for (const [, index, base64] of figures) {
      const row = features.subarray(Number(index) * 784, (Number(index) + 1) * 784);
      const [lo, hi] = [Math.min(...row), Math.max(...row)];
      const expected = Array.from(row, (v) => Math.round(((v - lo) / (hi - lo)) * 255));
      const raw = inflateSync(pngChunks(Buffer.from(base64, 'base64'))[1][1]);
      const got = Array.from({ length: 28 }, (_, y) => [...raw.subarray(y * 29 + 1, (y + 1) * 29)]).flat();
      got.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(1));
    }
  });

  it('notes what it cannot show: regression targets have no matrix, no validation set gives none', async () => {
    const features = Array.from({ length: 40 }, (_, i) => [i / 40, (i % 5) / 5]);
    const targets = features.map(([a, b]) => 2 * a - b);
    const reg = new TensorDataset({ features, targets });
    const { trainer } = mlpTrainer(2, 1, new nn.MSELoss());
    const file = path.join(dir, 'regression.html');
    await trainer.fit(reg, { epochs: 2, batchSize: 8, validation: reg, report: file });
    let html = read(file);
    expect(html).toMatch(/No accuracy: the targets are not class labels/);
    expect(html).toMatch(/No confusion matrix and no wrong samples: the dataset holds regression targets/);
    expect(html).not.toContain('class="confusion"');
    const { trainer: plain } = mlpTrainer(12, 3);
    await plain.fit(byteDataset(64, 12, 3, 2), { epochs: 1, report: file });
    html = read(file);
    expect(html).toMatch(/No validation set was given to fit/);
  });

  it('is written when training stops early, and says so', async () => {
    const { trainer } = mlpTrainer(12, 3);
    const file = path.join(dir, 'stopped.html');
    const history = await trainer.fit(byteDataset(128, 12, 3, 3), { epochs: 5, validation: byteDataset(30, 12, 3, 4), report: file,
      onEpochEnd: (e) => { if (e.epoch === 2) trainer.stop(); } });
    expect(history.stopped).toBe(true);
    const html = read(file);
    expect(html.includes('2 of 5 (epochs 1–5), stopped early')).toBe(true);
    expect(count(html, /<circle class="point" data-series="validation"/g)).toBe(4);
  });

  it('states the learning rate the epochs ran with, not where a schedule left the optimizer', async () => {
    const { trainer, model } = mlpTrainer(12, 3);
    const optimizer = trainer.optimizer as optim.SGD;
    const scheduled = new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss(), scheduler: new optim.StepLR(optimizer, { stepSize: 1, gamma: 0.5 }) });
    const file = path.join(dir, 'scheduled.html');
    const history = await scheduled.fit(byteDataset(64, 12, 3, 2), { epochs: 3, report: file });
    expect(history.epochs.map((e) => e.lr)).toEqual([0.05, 0.025, 0.0125]);
    expect(optimizer.lr).toBe(0.00625);
    const html = read(file);
    expect(html.includes('SGD: lr 0.05 → 0.0125 (epoch 1 → 3), momentum 0')).toBe(true);
    expect(html.includes('StepLR')).toBe(true);
  });

  it('rejects with the history when the report cannot be written after training', async () => {
    const { trainer } = mlpTrainer(12, 3);
    const gone = fs.mkdtempSync(path.join(dir, 'gone-'));
    const file = path.join(gone, 'r.html');
    const error = await trainer.fit(byteDataset(64, 12, 3, 2), { epochs: 2, report: file,
      onEpochEnd: (e) => { if (e.epoch === 2) fs.rmSync(gone, { recursive: true }); } }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(new RegExp(`training finished but its report could not be written to .*r\\.html: .*ENOENT`));
    expect((error as { history: { epochs: unknown[] } }).history.epochs).toHaveLength(2);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('refuses a bad report path before training', async () => {
    const { trainer, model } = mlpTrainer(12, 3);
    const before = model.parameters()[0].toArray();
    const data = byteDataset(64, 12, 3, 2);
    await expect(trainer.fit(data, { report: 42 as unknown as string })).rejects.toThrow(new TypeError('fit report must be a file path (a non-empty string), got 42'));
    await expect(trainer.fit(data, { report: '' })).rejects.toThrow(TypeError);
    await expect(trainer.fit(data, { report: dir })).rejects.toThrow(/is a directory; name a file in it/);
    await expect(trainer.fit(data, { report: path.join(dir, 'missing', 'r.html') })).rejects.toThrow(RangeError);
    expect(model.parameters()[0].toArray()).toEqual(before);
  });
});

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(__dirname, '..', 'dist', 'cli', 'main.js'), ...args], (err, stdout, stderr) => {
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr });
    });
  });
}

describe('tinynn train --report', () => {
  it('writes the report of a real MNIST run', async () => {
    const file = path.join(dir, 'cli.html');
    const r = await runCli(['train', '--epochs', '1', '--limit', '2000', '--seed', '1', '--device', 'cpu', '--report', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote the report to ${file}`);
    const html = read(file);
    const cells = [...html.matchAll(/<td class="cell" data-count="(\d+)"/g)].map((m) => Number(m[1]));
    expect(cells).toHaveLength(100);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(10_000);
    const diagonal = cells.filter((_, i) => i % 11 === 0).reduce((a, b) => a + b, 0);
    expect(r.stdout).toContain(`final test accuracy: ${(diagonal / 100).toFixed(2)}%`);
    expect(count(html, /<figure class="wrong-sample"/g)).toBe(16);
  });

  it('refuses a report path it could not write, before training', async () => {
    expect(await runCli(['train', '--report', dir])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--report .* is a directory; name a file in it/) });
    expect(await runCli(['train', '--report', path.join(dir, 'nope', 'r.html')]))
      .toMatchObject({ code: 2, stderr: expect.stringMatching(/--report .*: directory .*nope does not exist/) });
    expect(await runCli(['train', '--report'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--report needs a value/) });
  });
});
