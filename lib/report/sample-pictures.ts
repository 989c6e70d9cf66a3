// The samples the model got most confidently wrong: as 28×28 pictures when the samples are
// MNIST-sized images, else as a table of their indices.
import type { Dataset } from '../data/dataset';
import { TensorDataset } from '../data/tensor-dataset';
import { escapeHtml } from './markup';
import { encodeGrayPng } from './png';
import type { WrongPrediction } from './predictions';

const SIDE = 28;

/** Whether the dataset's samples are drawn as SIDE×SIDE pictures. */
export function isImageDataset(dataset: Dataset | TensorDataset): boolean {
  return (dataset instanceof TensorDataset ? dataset.featureCount : dataset.features) === SIDE * SIDE;
}

// Sample `index` as gray bytes: a Dataset's bytes as they are, float features stretched from
// their smallest to their largest value.
function pixels(dataset: Dataset | TensorDataset, index: number): Uint8Array {
  const n = SIDE * SIDE;
  if (!(dataset instanceof TensorDataset)) return dataset.images.subarray(index * n, (index + 1) * n);
  const row = dataset.features.subarray(index * n, (index + 1) * n);
  let lo = Infinity, hi = -Infinity;
  for (const v of row) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  return Uint8Array.from(row, (v) => Math.round((v - lo) * scale));
}

// A probability short of 1 never reads as 100 %.
const percent = (p: number): string => (p < 1 && p >= 0.9995 ? '>99.9 %' : `${(100 * p).toFixed(1)} %`);

/** The wrong samples as figures with their true and predicted classes, or as a table. */
export function wrongSamples(wrong: readonly WrongPrediction[], dataset: Dataset | TensorDataset): string {
  if (wrong.length === 0) return '<p class="note">The model got every sample right.</p>';
  if (!isImageDataset(dataset)) {
    const features = dataset instanceof TensorDataset ? dataset.featureCount : dataset.features;
    const rows = wrong.map((w) => `<tr class="wrong-sample" data-index="${w.index}" data-label="${w.label}" data-predicted="${w.predicted}">` +
      `<td>${w.index}</td><td>${w.label}</td><td>${w.predicted}</td><td>${percent(w.confidence)}</td></tr>`).join('');
    return `<p class="note">The samples have ${features} features, not ${SIDE}×${SIDE} pixels: they are listed, not drawn.</p>` +
      `<table class="wrong-list"><thead><tr><th>sample</th><th>true</th><th>predicted</th><th>confidence</th></tr></thead><tbody>${rows}</tbody></table>`;
  }
  const figures = wrong.map((w) => {
    const png = encodeGrayPng(pixels(dataset, w.index), SIDE, SIDE).toString('base64');
    const alt = `sample ${w.index}: true ${w.label}, predicted ${w.predicted}`;
    return `<figure class="wrong-sample" data-index="${w.index}" data-label="${w.label}" data-predicted="${w.predicted}">` +
      `<img src="data:image/png;base64,${png}" width="${SIDE * 3}" height="${SIDE * 3}" alt="${escapeHtml(alt)}">` +
      `<figcaption><span class="truth">true ${w.label}</span> <span class="guess">predicted ${w.predicted}</span>` +
      `<span class="detail">${percent(w.confidence)} · #${w.index}</span></figcaption></figure>`;
  }).join('');
  return `<div class="wrong-grid">${figures}</div>`;
}
