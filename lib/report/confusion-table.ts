// The confusion matrix as an HTML table: rows are true classes, columns predicted ones; each
// cell is shaded by its share of the row (green on the diagonal, red off it).
import { escapeHtml } from './markup';

/** The table for counts[label][predicted]. */
export function confusionTable(counts: readonly (readonly number[])[]): string {
  const k = counts.length;
  const total = counts.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  const correct = counts.reduce((s, row, i) => s + row[i], 0);
  const head = Array.from({ length: k }, (_, c) => `<th scope="col">${c}</th>`).join('');
  const rows = counts.map((row, label) => {
    const rowTotal = row.reduce((a, b) => a + b, 0);
    const cells = row.map((count, predicted) => {
      const share = rowTotal === 0 ? 0 : count / rowTotal;
      // Off the diagonal the shading saturates early: a few percent of errors is already notable.
      const alpha = label === predicted ? share : Math.min(1, share * 5);
      const hue = label === predicted ? '34, 139, 34' : '200, 40, 40';
      const style = count === 0 ? '' : ` style="background: rgba(${hue}, ${(0.12 + 0.78 * alpha).toFixed(3)})"`;
      const tip = `true ${label}, predicted ${predicted}: ${count} of ${rowTotal}`;
      return `<td class="cell" data-count="${count}" title="${escapeHtml(tip)}"${style}>${count}</td>`;
    }).join('');
    const recall = rowTotal === 0 ? '–' : `${(100 * row[label] / rowTotal).toFixed(1)} %`;
    return `<tr><th scope="row">${label}</th>${cells}<td class="recall">${recall}</td></tr>`;
  }).join('');
  const accuracy = total === 0 ? '–' : `${(100 * correct / total).toFixed(2)} %`;
  return `<table class="confusion" data-classes="${k}" data-total="${total}">` +
    `<caption>${total.toLocaleString('en-US')} samples, ${correct.toLocaleString('en-US')} right (${accuracy}). ` +
    'Rows: true class; columns: predicted class; last column: the share of the class predicted right.</caption>' +
    `<thead><tr><th class="corner">true \\ predicted</th>${head}<th scope="col">right</th></tr></thead>` +
    `<tbody>${rows}</tbody></table>`;
}
