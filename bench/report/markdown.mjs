// The results as a markdown document: setup and method, the speed table with the roofline
// column, the ratio table and the chart.
import { RATIOS } from './summary.mjs';

const sig = (x, digits = 3) => Number(x.toPrecision(digits)).toLocaleString('en-US');
const percent = (x, digits = 1) => `${(100 * x).toFixed(digits)} %`;

function speedTable(results) {
  const rows = ['| batch | system | s / epoch | samples/s | % of peak | test accuracy |', '|---:|---|---:|---:|---:|---:|'];
  const ordered = [...results.records].sort((a, b) => a.batchSize - b.batchSize);
  for (const r of ordered) {
    if (r.error) {
      rows.push(`| ${r.batchSize} | ${r.system} | failed: ${r.error.replace(/\|/g, '\\|')} | | | |`);
      continue;
    }
    const scaled = r.samples !== 60000 ? ` (${r.samples}-sample sub-epochs)` : '';
    rows.push(`| ${r.batchSize} | ${r.system} | ${sig(r.epochSeconds)}${scaled} | ${sig(r.samplesPerSecond)} | ` +
      `${r.fractionOfPeak === null ? '—' : percent(r.fractionOfPeak, r.fractionOfPeak < 0.01 ? 2 : 1)} | ${percent(r.accuracy, 2)} |`);
  }
  return rows.join('\n');
}

function ratioTable(results) {
  const labels = RATIOS.map((r) => r.label).filter((label) => results.ratios.some((q) => q.label === label));
  if (labels.length === 0) return '(no pair of systems to compare ran)';
  const batches = [...new Set(results.records.map((r) => r.batchSize))].sort((a, b) => a - b);
  const rows = [`| batch | ${labels.join(' | ')} |`, `|---:|${labels.map(() => '---:').join('|')}|`];
  for (const b of batches) {
    const cells = labels.map((label) => {
      const q = results.ratios.find((r) => r.label === label && r.batchSize === b);
      if (!q) return '—';
      const den = RATIOS.find((r) => r.label === label).den;
      return `${q.ratio.toFixed(2)}×${den.length > 1 ? ` (${q.against})` : ''}`;
    });
    rows.push(`| ${b} | ${cells.join(' | ')} |`);
  }
  return rows.join('\n');
}

/** The markdown document for a results object (see run.mjs); `chartFile` is the SVG's file name. */
export function resultsMarkdown(results, chartFile) {
  const { info, method, flops, peaks } = results;
  const software = [`node ${info.node}`, info.torch && `PyTorch ${info.torch} (${info.torchThreads} threads)`,
    info.tfjs && `TensorFlow.js ${info.tfjs}`].filter(Boolean).join(', ');
  const peakLines = Object.entries(peaks).filter(([, p]) => p)
    .map(([device, p]) => `- ${device.toUpperCase()} fp32 peak: ${sig(p.gflops)} GFLOP/s, the highest of ${p.samples.length} ` +
      `measurements taken between batch sizes (${p.samples.join(', ')}); ${p.method}.`);
  return [
    `# tinynn benchmark: ${results.machine}, ${results.date}`,
    '',
    `\`${results.command}\` on ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB${info.gpu ? `, ${info.gpu}` : ''}, ${info.os}; ${software}. ` +
      `Load average (1 min) before / after: ${results.loadAverage.before} / ${results.loadAverage.after}.`,
    '',
    `- Job: ${method.job}`,
    `- Method: ${method.timing}`,
    ...(method.tfjs ? [`- TensorFlow.js: ${method.tfjs}`] : []),
    `- FLOPs: ${flops.counted}.`,
    ...peakLines,
    `- % of peak = FLOPs per sample × samples/s ÷ peak. Test accuracy: ${method.accuracy}`,
    ...results.skipped.map((s) => `- Skipped ${s.systems.join(', ')}: ${s.reason}`),
    '',
    '## Speed',
    '',
    speedTable(results),
    '',
    '## Ratios (samples/s of the first ÷ the second; > 1: the first is faster)',
    '',
    ratioTable(results),
    '',
    `![training samples/s by batch size, log scale](${chartFile})`,
    '',
  ].join('\n');
}
