// Writes a run's HTML report: the model's predictions on the validation set, the page, one atomic write.
import * as fs from 'fs';
import * as path from 'path';
import { describe } from '../device';
import { writeFileAtomic } from '../io/atomic-write';
import { reportHtml } from './html';
import { predict } from './predictions';
import type { RunParts } from './run-info';

/**
 * Checks a report path before training, so that a run does not end in an error it could have
 * given at the start: a non-empty string naming a file (not a directory) in an existing directory.
 * @throws TypeError for a value that is not a non-empty string or names a directory; RangeError
 *   when its directory does not exist.
 */
export function checkReportPath(file: unknown, what = 'report'): string {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(`${what} must be a file path (a non-empty string), got ${describe(file)}`);
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new RangeError(`${what} ${file}: directory ${dir} does not exist`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new TypeError(`${what} ${file} is a directory; name a file in it`);
  return file;
}

/**
 * Writes the report of a finished (or stopped) fit to `file`, replacing it atomically. The model
 * runs over the validation set in eval mode for the confusion matrix and the wrong samples.
 * @throws Error naming the file, with the run's history as its `history` (training is not lost
 *   with the report), its `cause` the original error.
 */
export async function writeReport(file: string, parts: RunParts): Promise<void> {
  try {
    const predictions = parts.validation ? await predict(parts.model, parts.validation) : null;
    await writeFileAtomic(file, Buffer.from(reportHtml(parts, predictions), 'utf8'));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw Object.assign(new Error(`training finished but its report could not be written to ${file}: ${message}`, { cause: err }),
      { history: parts.history });
  }
}
