// A small typed command-line parser: `--name value`, `--name=value`, `-h`/`--help`. Option keys
// are camelCase in code and kebab-case on the command line (batchSize ⇄ --batch-size).

/** Bad command-line usage: the CLI prints the message and a short usage and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface OptionBase {
  /** One line for the help text. */
  description: string;
  /** The placeholder shown in the help text, e.g. 'N' or 'FILE'. */
  valueName: string;
  /** When true, the option must be given (and has no default). */
  required?: true;
}

/** A numeric option; `integer` also rejects fractions. Bounds are inclusive unless marked. */
export interface NumberOption extends OptionBase {
  kind: 'number' | 'integer';
  default?: number;
  min?: number;
  max?: number;
  /** Makes `min` exclusive (e.g. lr > 0). */
  minExclusive?: true;
  /** Makes `max` exclusive (e.g. momentum < 1). */
  maxExclusive?: true;
}

/** A string option, optionally restricted to values matching `pattern` (described by valueName). */
export interface StringOption extends OptionBase {
  kind: 'string';
  default?: string;
  pattern?: RegExp;
}

/** One option of a command. */
export type OptionSpec = NumberOption | StringOption;
/** A command's options by camelCase key. */
export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<O extends OptionSpec> = O extends NumberOption ? number : string;

/** The parsed values: options with a default or `required` are always present. */
export type ParsedOptions<S extends OptionSpecs> = {
  [K in keyof S]: S[K] extends { default: unknown } | { required: true } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

/** The result of {@link parseArgs}: either a request for help or the options. */
export type ParseResult<S extends OptionSpecs> = { help: true } | { help: false; options: ParsedOptions<S> };

/** 'batchSize' → '--batch-size'. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

// Plain decimal or scientific notation only: no hex, no 'Infinity', no trailing junk.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** 'an integer ≥ 1', 'a number in (0, 1)'… for error messages. */
function rangeText(spec: NumberOption): string {
  const noun = spec.kind === 'integer' ? 'an integer' : 'a number';
  const { min, max } = spec;
  if (min !== undefined && max !== undefined) {
    return `${noun} in ${spec.minExclusive ? '(' : '['}${min}, ${max}${spec.maxExclusive ? ')' : ']'}`;
  }
  if (min !== undefined) return `${noun} ${spec.minExclusive ? '>' : '≥'} ${min}`;
  if (max !== undefined) return `${noun} ${spec.maxExclusive ? '<' : '≤'} ${max}`;
  return noun;
}

function parseNumber(flag: string, text: string, spec: NumberOption): number {
  const value = NUMBER.test(text) ? Number(text) : NaN;
  const inRange = Number.isFinite(value)
    && (spec.kind !== 'integer' || Number.isSafeInteger(value))
    && (spec.min === undefined || (spec.minExclusive ? value > spec.min : value >= spec.min))
    && (spec.max === undefined || (spec.maxExclusive ? value < spec.max : value <= spec.max));
  if (!inRange) throw new UsageError(`${flag} expects ${rangeText(spec)}, got '${text}'`);
  return value;
}

function parseValue(flag: string, text: string, spec: OptionSpec): number | string {
  if (spec.kind === 'string') {
    if (spec.pattern && !spec.pattern.test(text)) {
      throw new UsageError(`${flag} expects ${spec.valueName}, got '${text}'`);
    }
    return text;
  }
  return parseNumber(flag, text, spec);
}

/**
 * Parses `argv` (the arguments after the command name) against `specs`.
 *
 * @returns `{ help: true }` when -h or --help appears anywhere, else the options with defaults
 *   filled in.
 * @throws UsageError for an unknown flag, a positional argument, a repeated flag, a missing value,
 *   a value of the wrong kind or out of range, or a missing required option.
 */
export function parseArgs<S extends OptionSpecs>(argv: readonly string[], specs: S): ParseResult<S> {
  if (argv.includes('-h') || argv.includes('--help')) return { help: true };
  const byFlag = new Map(Object.keys(specs).map((key) => [flagName(key), key]));
  const values: Record<string, number | string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    const key = byFlag.get(flag);
    if (key === undefined) throw new UsageError(`unknown option ${flag}`);
    if (Object.hasOwn(values, key)) throw new UsageError(`${flag} given more than once`);
    let text: string | undefined;
    if (equals !== -1) {
      text = arg.slice(equals + 1);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      text = argv[++i];
    }
    if (text === undefined || text === '') throw new UsageError(`${flag} needs a value (${specs[key].valueName})`);
    values[key] = parseValue(flag, text, specs[key]);
  }
  for (const [key, spec] of Object.entries(specs)) {
    if (Object.hasOwn(values, key)) continue;
    if (spec.default !== undefined) values[key] = spec.default;
    else if (spec.required) throw new UsageError(`${flagName(key)} ${spec.valueName} is required`);
  }
  return { help: false, options: values as ParsedOptions<S> };
}

/** The options part of a help text: one aligned line per option, with its default. */
export function describeOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([key, spec]) => {
    const left = `${flagName(key)} ${spec.valueName}`;
    const suffix = spec.default !== undefined ? ` (default ${spec.default})` : spec.required ? ' (required)' : '';
    return [left, spec.description + suffix];
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join('\n');
}
