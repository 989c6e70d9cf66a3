// CSV files of numeric columns as a TensorDataset: one column is the target, the rest features.
// Parsing (quotes, delimiters, line endings) is csv-parse's; every cell must be a number.
import { describe } from '../device';
import { readRegularFile } from '../io/regular-file';
import { parse } from 'csv-parse/sync';
import { TensorDataset } from './tensor-dataset';

/** Options for {@link readCsv} and {@link parseCsv}. */
export interface CsvOptions {
  /** The target column: its header name or 0-based index (default: the last column). */
  target?: string | number;
  /** 'regression' (default): float32 targets; 'classification': the target holds class indices (int32 labels). */
  task?: 'regression' | 'classification';
  /** Whether the first row names the columns (default: when any of its cells is not a number). */
  header?: boolean;
  /** The cell delimiter (default ','). */
  delimiter?: string;
}

/** Reads a CSV file of numeric columns into a TensorDataset. */
export async function readCsv(file: string, options: CsvOptions = {}): Promise<TensorDataset> {
  if (typeof file !== 'string') throw new TypeError(`readCsv: file must be a path string, got ${typeof file}`);
  const text = (await readRegularFile(file)).toString('utf8');
  try {
    return parseCsv(text, options);
  } catch (e) {
    if (e instanceof Error) e.message = `${file}: ${e.message}`;
    throw e;
  }
}

/** Parses CSV text of numeric columns into a TensorDataset (see {@link readCsv}). */
export function parseCsv(text: string, options: CsvOptions = {}): TensorDataset {
  if (typeof text !== 'string') throw new TypeError(`parseCsv: text must be a string, got ${typeof text}`);
  const { task = 'regression', delimiter = ',' } = options;
  if (task !== 'regression' && task !== 'classification') throw new TypeError(`CSV task must be 'regression' or 'classification', got ${describe(task)}`);
  let rows: string[][];
  try {
    rows = parse(text, { delimiter, skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][];
  } catch (e) {
    throw new RangeError(`CSV: ${(e as Error).message}`);
  }
  if (rows.length === 0) throw new RangeError('CSV: no rows');
  const isNumber = (cell: string) => cell !== '' && Number.isFinite(Number(cell));
  const header = options.header ?? !rows[0].every(isNumber);
  const names = header ? rows[0] : rows[0].map((_, i) => String(i));
  const body = header ? rows.slice(1) : rows;
  if (body.length === 0) throw new RangeError('CSV: a header but no data rows');
  const columns = names.length;
  if (columns < 2) throw new RangeError('CSV: need at least two columns (features and a target)');
  const target = options.target ?? columns - 1;
  const t = typeof target === 'number' ? target : names.indexOf(target);
  if (!Number.isInteger(t) || t < 0 || t >= columns) {
    throw new RangeError(`CSV: no target column ${JSON.stringify(target)} (columns: ${names.join(', ')})`);
  }
  const firstRow = header ? 2 : 1;
  const features = new Float32Array(body.length * (columns - 1));
  const y = new Float32Array(body.length);
  body.forEach((row, r) => {
    let f = 0;
    row.forEach((cell, c) => {
      if (!isNumber(cell)) {
        throw new RangeError(`CSV row ${firstRow + r}, column ${c + 1} (${names[c]}): ${JSON.stringify(cell)} is not a number`);
      }
      if (c === t) y[r] = Number(cell);
      else features[r * (columns - 1) + f++] = Number(cell);
    });
  });
  if (task === 'regression') return new TensorDataset({ features, featureCount: columns - 1, targets: y });
  const labels = Int32Array.from(y, (v, r) => {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`CSV row ${firstRow + r}, column ${t + 1} (${names[t]}): ${v} is not a class index (an integer >= 0)`);
    }
    return v;
  });
  return new TensorDataset({ features, featureCount: columns - 1, labels });
}
