// The report page as headless Chromium renders it: a screenshot is saved under tests/output/, and a
// copy of the page with a measuring script (the report itself runs none) reports what was drawn:
// the curves' lines, the 10×10 confusion matrix, and the 16 wrong digits' decoded pixels, checked
// against the test set and against predictions computed here with argmax.
// Needs Debian's chromium package (.ci/run installs it); skipped with a message without it.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { beforeAll, describe, expect, it } from 'vitest';
import { datasets, manualSeed, nn, noGrad, optim, softmax, Trainer, type Dataset, type History, DataLoader } from '../dist/index.js';
import { programEnv } from './helpers/program-env';

function findChromium(): string | null {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
    } catch {
      // not this name
    }
  }
  return null;
}

const chromium = findChromium();
if (!chromium) console.warn('report-chromium.test.ts skipped: no chromium on PATH (apt-get install chromium; .ci/run installs it)');

const outDir = path.join(__dirname, 'output');
const reportFile = path.join(outDir, 'report.html');
const screenshot = path.join(outDir, 'report.png');

function browse(args: string[]): string {
  const sandbox = process.getuid?.() === 0 ? ['--no-sandbox'] : []; // Chromium refuses root without it
  return execFileSync(chromium!, ['--headless', '--disable-gpu', '--hide-scrollbars', '--no-first-run', ...sandbox, ...args],
    { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'], env: programEnv() });
}

// Runs in the page after load (images decoded, layout done) and appends what it measured as JSON.
const MEASURE = `<script>
addEventListener('load', () => {
  const box = (el) => { const r = el.getBoundingClientRect(); return { width: r.width, height: r.height }; };
  const charts = [...document.querySelectorAll('svg.chart')].map((svg) => ({
    id: svg.dataset.chart, box: box(svg), points: svg.querySelectorAll('circle.point').length,
    lines: [...svg.querySelectorAll('polyline.series')].map((p) => ({ series: p.dataset.series, box: box(p), ys: [...p.points].map((v) => v.y) })),
  }));
  const table = document.querySelector('table.confusion');
  const matrix = table ? [...table.tBodies[0].rows].map((r) => [...r.querySelectorAll('td.cell')].map((td) => Number(td.textContent))) : null;
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const images = [...document.querySelectorAll('figure.wrong-sample')].map((f) => {
    const img = f.querySelector('img');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    ctx.drawImage(img, 0, 0);
    const rgba = ctx.getImageData(0, 0, canvas.width || 1, canvas.height || 1).data;
    return { index: Number(f.dataset.index), label: Number(f.dataset.label), predicted: Number(f.dataset.predicted),
      caption: f.querySelector('figcaption').textContent, complete: img.complete,
      natural: [img.naturalWidth, img.naturalHeight], box: box(img), pixels: Array.from(rgba.filter((_, i) => i % 4 === 0)) };
  });
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify({ charts, matrix, images });
  document.body.append(pre);
});
</script>`;

interface Measured {
  charts: { id: string; box: { width: number; height: number }; points: number; lines: { series: string; box: { width: number; height: number }; ys: number[] }[] }[];
  matrix: number[][] | null;
  images: { index: number; label: number; predicted: number; caption: string; complete: boolean; natural: number[]; box: { width: number }; pixels: number[] }[];
}

describe.skipIf(!chromium)('the report in headless Chromium', () => {
  let test: Dataset;
  let history: History;
  let measured: Measured;
  // Computed here, not by the report's code: argmax of the logits and the max softmax probability.
  let predicted: Int32Array;
  let confidence: Float32Array;

  beforeAll(async () => {
    fs.mkdirSync(outDir, { recursive: true });
    const mnist = await datasets.mnist();
    test = mnist.test;
    manualSeed(4);
    const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
    const trainer = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }), loss: new nn.CrossEntropyLoss() });
    history = await trainer.fit(mnist.train.subset(0, 5000), { epochs: 2, seed: 4, validation: test, report: reportFile });
    predicted = new Int32Array(test.length);
    confidence = new Float32Array(test.length);
    let row = 0;
    model.eval();
    for (const { x } of new DataLoader(test, { batchSize: 2000 })) {
      noGrad(() => {
        const logits = model.forward(x);
        const best = logits.argmax(1).toArray<'int32'>();
        const p = softmax(logits).toArray();
        best.forEach((c, i) => {
          predicted[row + i] = c;
          confidence[row + i] = p[i * 10 + c];
        });
        row += best.length;
      });
    }
    const html = fs.readFileSync(reportFile, 'utf8');
    // The page's policy forbids scripts; the measuring copy allows inline ones, and still only data: images.
    const instrumented = html.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';").replace('</body>', `${MEASURE}</body>`);
    const measuring = path.join(outDir, 'report-measured.html');
    fs.writeFileSync(measuring, instrumented);
    browse([`--screenshot=${screenshot}`, '--window-size=980,2600', `file://${reportFile}`]);
    console.log(`report screenshot: ${screenshot}`);
    const dom = browse(['--window-size=980,2600', '--dump-dom', `file://${measuring}`]);
    const json = /<pre id="measured">([^<]*)<\/pre>/.exec(dom)?.[1];
    if (!json) throw new Error(`the measuring script wrote nothing; Chromium gave:\n${dom.slice(0, 500)}`);
    measured = JSON.parse(json.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
  });

  it('saves a screenshot of the page', () => {
    const png = fs.readFileSync(screenshot);
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([980, 2600]);
  });

  it('draws the curves: loss and accuracy for training and validation, learning rate, samples per second', () => {
    const byId = Object.fromEntries(measured.charts.map((c) => [c.id, c]));
    expect(Object.keys(byId).sort()).toEqual(['accuracy', 'loss', 'lr', 'throughput']);
    for (const id of ['loss', 'accuracy']) {
      expect(byId[id].lines.map((l) => l.series)).toEqual(['training', 'validation']);
      expect(byId[id].points).toBe(4);
    }
    for (const chart of measured.charts) {
      expect(chart.box.width).toBeGreaterThan(300);
      for (const line of chart.lines) {
        expect(line.ys).toHaveLength(history.epochs.length);
        expect(line.box.width).toBeGreaterThan(100); // laid out across the plot, not collapsed
      }
    }
    // Lines go up the page (smaller y) exactly where the values rise.
    const [first, second] = history.epochs;
    const pairs: [string, number, [number, number]][] = [
      ['loss', 0, [first.loss, second.loss]], ['loss', 1, [first.valLoss!, second.valLoss!]],
      ['accuracy', 0, [first.accuracy!, second.accuracy!]], ['accuracy', 1, [first.valAccuracy!, second.valAccuracy!]],
    ];
    for (const [id, k, [a, b]] of pairs) {
      const [y0, y1] = byId[id].lines[k].ys;
      expect(Math.sign(y0 - y1)).toBe(Math.sign(b - a));
    }
  });

  it('shows the 10×10 confusion matrix of the predictions, summing to the test set size', () => {
    const expected = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
    test.labels.forEach((label, i) => expected[label][predicted[i]]++);
    expect(measured.matrix).toEqual(expected);
    const total = measured.matrix!.flat().reduce((a, b) => a + b, 0);
    expect(total).toBe(test.length);
    const diagonal = measured.matrix!.reduce((s, row, i) => s + row[i], 0);
    expect(diagonal / total).toBeCloseTo(history.epochs[history.epochs.length - 1].valAccuracy!, 10);
  });

  it('draws the 16 most confidently wrong digits as 28×28 pictures with true and predicted labels', () => {
    expect(measured.images).toHaveLength(16);
    const wrong = [...test.labels.keys()].filter((i) => predicted[i] !== test.labels[i]);
    wrong.sort((a, b) => confidence[b] - confidence[a] || a - b);
    expect(measured.images.map((m) => m.index)).toEqual(wrong.slice(0, 16));
    for (const m of measured.images) {
      expect(m.complete).toBe(true);
      expect(m.natural).toEqual([28, 28]);
      expect(m.box.width).toBe(84);
      expect(m.label).toBe(test.labels[m.index]);
      expect(m.predicted).toBe(predicted[m.index]);
      expect(m.caption).toContain(`true ${m.label}`);
      expect(m.caption).toContain(`predicted ${m.predicted}`);
      // The decoded picture is the test image, byte for byte.
      expect(m.pixels).toEqual(Array.from(test.images.subarray(m.index * 784, (m.index + 1) * 784)));
    }
  });
});
