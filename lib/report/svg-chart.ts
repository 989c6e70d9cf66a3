// Line charts as inline SVG: one value per epoch for each series, drawn on linear axes with
// rounded ticks. Missing values (null or not finite) leave a gap.
import { escapeHtml } from './markup';

/** One line of a chart. */
export interface ChartSeries {
  name: string;
  /** One value per x; null where there is none. */
  values: readonly (number | null)[];
  /** A CSS colour. */
  color: string;
}

/** What {@link lineChart} draws. */
export interface LineChart {
  /** Names the chart (data-chart attribute) and heads it. */
  id: string;
  title: string;
  /** The x values (epochs), ascending. */
  x: readonly number[];
  xLabel: string;
  series: readonly ChartSeries[];
  /** How a y tick is written (default: a short number). */
  formatY?: (v: number) => string;
}

const WIDTH = 420;
const HEIGHT = 250;
const MARGIN = { left: 62, right: 16, top: 34, bottom: 44 };

/** A tick step of 1, 2 or 5 times a power of ten giving about `count` intervals over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

/** Ticks covering [lo, hi]: the axis range rounded out to whole steps. */
export function axisTicks(lo: number, hi: number, count = 4): number[] {
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, count);
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // Multiplying, not adding, keeps 0.1 + 0.2 errors out of the labels.
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

export function shortNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  if (a >= 1000) return v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return String(Number(v.toPrecision(3)));
}

const finite = (v: number | null): v is number => v !== null && Number.isFinite(v);

/** The chart as an `<svg>` element (with a text note instead when no series has a value). */
export function lineChart(chart: LineChart): string {
  const format = chart.formatY ?? shortNumber;
  const values = chart.series.flatMap((s) => s.values.filter(finite));
  const head = `<svg class="chart" data-chart="${escapeHtml(chart.id)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(chart.title)}">` +
    `<text class="chart-title" x="${MARGIN.left}" y="20">${escapeHtml(chart.title)}</text>`;
  if (values.length === 0 || chart.x.length === 0) {
    return `${head}<text class="chart-note" x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no values</text></svg>`;
  }
  const yTicks = axisTicks(Math.min(...values), Math.max(...values));
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const [x0, x1] = [chart.x[0], chart.x[chart.x.length - 1]];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  // A single epoch sits in the middle of the x axis.
  const px = (x: number): number => MARGIN.left + (x1 === x0 ? plotW / 2 : ((x - x0) / (x1 - x0)) * plotW);
  const py = (y: number): number => MARGIN.top + plotH - ((y - y0) / (y1 - y0)) * plotH;
  const r = (v: number): string => v.toFixed(1);
  const parts: string[] = [head];
  for (const t of yTicks) {
    parts.push(`<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${r(py(t))}" y2="${r(py(t))}"/>`,
      `<text class="tick" x="${MARGIN.left - 6}" y="${r(py(t) + 4)}" text-anchor="end">${escapeHtml(format(t))}</text>`);
  }
  // At most about 10 x labels: every k-th epoch.
  const every = Math.max(1, Math.ceil(chart.x.length / 10));
  chart.x.forEach((x, i) => {
    if (i % every === 0 || i === chart.x.length - 1) {
      parts.push(`<text class="tick" x="${r(px(x))}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${x}</text>`);
    }
  });
  parts.push(`<line class="axis" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}"/>`,
    `<line class="axis" x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}"/>`,
    `<text class="axis-label" x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escapeHtml(chart.xLabel)}</text>`);
  let legendX = WIDTH - MARGIN.right;
  for (const s of [...chart.series].reverse()) {
    legendX -= 14 + 7 * s.name.length;
    parts.push(`<rect x="${legendX}" y="12" width="10" height="10" fill="${s.color}"/>`,
      `<text class="legend" x="${legendX + 13}" y="21">${escapeHtml(s.name)}</text>`);
  }
  for (const s of chart.series) {
    // Runs of consecutive values are one polyline each; a lone value shows as its marker.
    let run: string[] = [];
    const flush = (): void => {
      if (run.length > 1) parts.push(`<polyline class="series" data-series="${escapeHtml(s.name)}" fill="none" stroke="${s.color}" stroke-width="2" points="${run.join(' ')}"/>`);
      run = [];
    };
    s.values.forEach((v, i) => {
      if (!finite(v) || i >= chart.x.length) return flush();
      const [x, y] = [r(px(chart.x[i])), r(py(v))];
      run.push(`${x},${y}`);
      parts.push(`<circle class="point" data-series="${escapeHtml(s.name)}" cx="${x}" cy="${y}" r="3" fill="${s.color}"><title>${escapeHtml(`${s.name}, ${chart.xLabel} ${chart.x[i]}: ${format(v)}`)}</title></circle>`);
    });
    flush();
  }
  parts.push('</svg>');
  return parts.join('');
}
