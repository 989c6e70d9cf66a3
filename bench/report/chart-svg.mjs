// The results chart as a self-contained SVG: samples/s (log scale) against batch size (log 2
// scale), one line per system.

const COLORS = ['#d62728', '#ff7f0e', '#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];
const [W, H] = [760, 440];
const PLOT = { left: 70, right: 560, top: 40, bottom: 390 };

const escape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** 1e3 → "1k", 1e6 → "1M". */
function shortNumber(x) {
  for (const [unit, size] of [['M', 1e6], ['k', 1e3]]) if (x >= size) return `${+(x / size).toPrecision(3)}${unit}`;
  return String(+x.toPrecision(3));
}

/** An SVG document for records [{ system, batchSize, samplesPerSecond }] (failed ones skipped). */
export function chartSvg(records, title) {
  const ok = records.filter((r) => !r.error);
  const systems = [...new Set(ok.map((r) => r.system))];
  const batches = [...new Set(ok.map((r) => r.batchSize))].sort((a, b) => a - b);
  const values = ok.map((r) => r.samplesPerSecond);
  const [lo, hi] = [Math.floor(Math.log10(Math.min(...values))), Math.ceil(Math.log10(Math.max(...values)))];
  const [b0, b1] = [Math.log2(batches[0]), Math.log2(batches.at(-1))];
  const x = (b) => (b1 === b0 ? (PLOT.left + PLOT.right) / 2 : PLOT.left + ((Math.log2(b) - b0) / (b1 - b0)) * (PLOT.right - PLOT.left));
  const y = (v) => PLOT.bottom - ((Math.log10(v) - lo) / Math.max(hi - lo, 1)) * (PLOT.bottom - PLOT.top);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${PLOT.left}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let e = lo; e <= hi; e++) {  // decades, with faint 2× and 5× lines between them
    for (const m of e < hi ? [1, 2, 5] : [1]) {
      const v = m * 10 ** e;
      parts.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${y(v)}" y2="${y(v)}" stroke="${m === 1 ? '#bbb' : '#eee'}"/>`);
      if (m === 1) parts.push(`<text x="${PLOT.left - 8}" y="${y(v) + 4}" text-anchor="end">${shortNumber(v)}</text>`);
    }
  }
  for (const b of batches) {
    parts.push(`<line x1="${x(b)}" x2="${x(b)}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#eee"/>`,
      `<text x="${x(b)}" y="${PLOT.bottom + 18}" text-anchor="middle">${b}</text>`);
  }
  parts.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 40}" text-anchor="middle">batch size</text>`,
    `<text transform="translate(18 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">training samples/s (log scale)</text>`,
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#888"/>`);
  systems.forEach((system, i) => {
    const color = COLORS[i % COLORS.length];
    const points = ok.filter((r) => r.system === system).sort((a, b) => a.batchSize - b.batchSize)
      .map((r) => [x(r.batchSize), y(r.samplesPerSecond)]);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => p.map((c) => c.toFixed(1)).join(',')).join(' ')}"/>`);
    for (const [px, py] of points) parts.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3.5" fill="${color}"/>`);
    const ly = PLOT.top + 10 + i * 22;
    parts.push(`<line x1="${PLOT.right + 20}" x2="${PLOT.right + 44}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<circle cx="${PLOT.right + 32}" cy="${ly}" r="3.5" fill="${color}"/>`,
      `<text x="${PLOT.right + 52}" y="${ly + 4}">${escape(system)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
