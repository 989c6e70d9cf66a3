// The report page: one self-contained HTML document (inline CSS and SVG, images as data URIs, no
// scripts, nothing fetched) with the run's curves, confusion matrix, wrong samples and facts.
import { confusionTable } from './confusion-table';
import { escapeHtml } from './markup';
import { confusionMatrix, mostConfidentlyWrong, type NoPredictions, type Predictions } from './predictions';
import { deviceFacts, machineFacts, runFacts, type Fact, type RunParts } from './run-info';
import { wrongSamples } from './sample-pictures';
import { lineChart, shortNumber } from './svg-chart';

/** How many wrong samples the page shows. */
export const WRONG_SAMPLES = 16;

const TRAIN_COLOR = '#1f77b4';
const VALIDATION_COLOR = '#d62728';

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d232a; background: #f6f7f9; margin: 0; }
main { max-width: 920px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid #d8dce2; padding-bottom: 4px; }
.subtitle { color: #5a6573; margin: 0 0 14px; }
.note { color: #5a6573; font-style: italic; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; }
.tile { background: #fff; border: 1px solid #d8dce2; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.tile .value { font-size: 20px; font-weight: 600; }
.tile .label { color: #5a6573; font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(2, 1fr); gap: 12px; }
svg.chart { background: #fff; border: 1px solid #d8dce2; border-radius: 6px; width: 100%; height: auto; }
.chart-title { font-size: 14px; font-weight: 600; fill: #1d232a; }
.tick, .legend, .axis-label, .chart-note { font-size: 11px; fill: #5a6573; }
.grid { stroke: #e6e9ed; }
.axis { stroke: #8a94a1; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #d8dce2; padding: 3px 7px; text-align: right; font-variant-numeric: tabular-nums; }
th { background: #eef0f3; font-weight: 600; }
caption { caption-side: bottom; text-align: left; color: #5a6573; font-size: 12px; padding-top: 6px; }
table.confusion td.cell { min-width: 38px; text-align: center; }
table.confusion th.corner { font-size: 11px; font-weight: normal; color: #5a6573; }
table.confusion td.recall { color: #5a6573; font-size: 12px; }
.wrong-grid { display: grid; grid-template-columns: repeat(8, 1fr); gap: 8px; }
figure.wrong-sample { margin: 0; background: #fff; border: 1px solid #d8dce2; border-radius: 6px; padding: 6px; text-align: center; }
figure.wrong-sample img { image-rendering: pixelated; width: 84px; height: 84px; display: block; margin: 0 auto 4px; }
figcaption { font-size: 12px; line-height: 1.3; }
figcaption span { display: block; }
.truth { color: #1b7a1b; font-weight: 600; }
.guess { color: #b42318; font-weight: 600; }
.detail { color: #5a6573; font-size: 11px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; background: #fff; border: 1px solid #d8dce2; border-radius: 6px; padding: 10px 14px; }
dl.facts dt { color: #5a6573; }
dl.facts dd { margin: 0; }
dl.facts pre { margin: 0; font-size: 12px; }
.epochs td:first-child { text-align: center; }
`;

const percent = (v: number): string => `${(100 * v).toFixed(2)} %`;
const percentTick = (v: number): string => `${Number((100 * v).toFixed(2))} %`;
const fixed = (v: number | null, f: (x: number) => string): string => (v === null || !Number.isFinite(v) ? '–' : f(v));

function facts(list: readonly Fact[]): string {
  return `<dl class="facts">${list.map((f) => `<dt>${escapeHtml(f.label)}</dt><dd>${f.pre ? `<pre>${escapeHtml(f.value)}</pre>` : escapeHtml(f.value)}</dd>`).join('')}</dl>`;
}

function tiles(p: RunParts): string {
  const last = p.history.epochs[p.history.epochs.length - 1];
  const list: [string, string][] = last ? [
    ['training loss', fixed(last.loss, (v) => v.toFixed(4))],
    ['validation loss', fixed(last.valLoss, (v) => v.toFixed(4))],
    ['validation accuracy', fixed(last.valAccuracy, percent)],
    ['epochs', String(p.history.epochs.length)],
    ['samples / s (last epoch)', fixed(last.samplesPerSecond, (v) => Math.round(v).toLocaleString('en-US'))],
  ] : [['epochs', '0']];
  return `<div class="tiles">${list.map(([label, value]) => `<div class="tile"><div class="value">${escapeHtml(value)}</div><div class="label">${escapeHtml(label)}</div></div>`).join('')}</div>`;
}

function charts(p: RunParts): string {
  const e = p.history.epochs;
  const x = e.map((r) => r.epoch);
  const hasAccuracy = e.some((r) => r.accuracy !== null || r.valAccuracy !== null);
  const list = [
    lineChart({ id: 'loss', title: 'Loss', x, xLabel: 'epoch', series: [
      { name: 'training', values: e.map((r) => r.loss), color: TRAIN_COLOR },
      { name: 'validation', values: e.map((r) => r.valLoss), color: VALIDATION_COLOR },
    ] }),
    hasAccuracy ? lineChart({ id: 'accuracy', title: 'Accuracy', x, xLabel: 'epoch', formatY: percentTick, series: [
      { name: 'training', values: e.map((r) => r.accuracy), color: TRAIN_COLOR },
      { name: 'validation', values: e.map((r) => r.valAccuracy), color: VALIDATION_COLOR },
    ] }) : '',
    lineChart({ id: 'lr', title: 'Learning rate', x, xLabel: 'epoch', series: [{ name: 'lr', values: e.map((r) => r.lr), color: '#2ca02c' }] }),
    lineChart({ id: 'throughput', title: 'Samples per second (training)', x, xLabel: 'epoch', series: [
      { name: 'samples/s', values: e.map((r) => r.samplesPerSecond), color: '#9467bd' },
    ] }),
  ];
  const note = hasAccuracy ? '' : '<p class="note">No accuracy: the targets are not class labels.</p>';
  return `${note}<div class="charts">${list.join('')}</div>`;
}

function epochTable(p: RunParts): string {
  const rows = p.history.epochs.map((r) => `<tr><td>${r.epoch}</td><td>${shortNumber(r.lr)}</td><td>${fixed(r.loss, (v) => v.toFixed(4))}</td>` +
    `<td>${fixed(r.accuracy, percent)}</td><td>${fixed(r.valLoss, (v) => v.toFixed(4))}</td><td>${fixed(r.valAccuracy, percent)}</td>` +
    `<td>${r.seconds.toFixed(2)}</td><td>${Math.round(r.samplesPerSecond).toLocaleString('en-US')}</td></tr>`).join('');
  return '<table class="epochs"><thead><tr><th>epoch</th><th>lr</th><th>loss</th><th>accuracy</th><th>val loss</th><th>val accuracy</th>' +
    `<th>seconds</th><th>samples/s</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function predictionSections(p: RunParts, predictions: Predictions | NoPredictions | null): string {
  if (!p.validation || predictions === null) {
    return '<h2>Confusion matrix</h2><p class="note">No validation set was given to fit: no confusion matrix and no wrong samples to show.</p>';
  }
  if ('reason' in predictions) {
    return `<h2>Confusion matrix</h2><p class="note">No confusion matrix and no wrong samples: ${escapeHtml(predictions.reason)}.</p>`;
  }
  const wrong = mostConfidentlyWrong(predictions, WRONG_SAMPLES);
  return '<h2>Confusion matrix (validation set)</h2>' + confusionTable(confusionMatrix(predictions)) +
    `<h2>The ${WRONG_SAMPLES} most confidently wrong (validation set)</h2>` +
    '<p class="note">The wrong predictions with the highest softmax probability, most confident first.</p>' +
    wrongSamples(wrong, p.validation);
}

/**
 * The page for a run. `predictions` are the model's on the validation set (null without one);
 * `now` is when it says the report was written.
 */
export function reportHtml(p: RunParts, predictions: Predictions | NoPredictions | null, now: Date = new Date()): string {
  const stopped = p.history.stopped ? ' (stopped early)' : '';
  const subtitle = `${p.history.epochs.length} epoch${p.history.epochs.length === 1 ? '' : 's'}${stopped} on ${p.model.device}, ` +
    `${p.history.executor} executor · ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    // No script runs and nothing is loaded from elsewhere: images come from data: URIs only.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">` +
    `<title>tinynn training report</title><style>${CSS}</style></head><body><main>` +
    `<h1>tinynn training report</h1><p class="subtitle">${escapeHtml(subtitle)}</p>${tiles(p)}` +
    `<h2>Curves</h2>${charts(p)}` +
    predictionSections(p, predictions) +
    `<h2>Epochs</h2>${epochTable(p)}` +
    `<h2>Settings</h2>${facts(runFacts(p))}` +
    `<h2>Device and machine</h2>${facts([...deviceFacts(p.model.device), ...machineFacts(now)])}` +
    '</main></body></html>\n';
}
