// The command-line walk shared by the bench scripts' option parsers (bench/options.mjs,
// bench/eager/options.mjs): flags with values, --help, and usage errors that exit with status 2.

export class UsageError extends Error {}

/** A positive integer from `text`, or a UsageError naming the flag. */
export function positiveInt(flag, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} needs a positive integer, got '${text}'`);
  return n;
}

/**
 * Calls onFlag(flag, value) for each argument (value() takes the next argument as the flag's
 * value). Prints `usage` and exits 0 on -h/--help; on a UsageError prints it with `usage` and exits 2.
 * Returns the flags that were given a value.
 */
export function walkArgs(argv, usage, onFlag) {
  const explicit = new Set();
  try {
    for (let i = 0; i < argv.length; i++) {
      const flag = argv[i];
      if (flag === '-h' || flag === '--help') {
        console.log(usage);
        process.exit(0);
      }
      onFlag(flag, () => {
        if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
        explicit.add(flag);
        return argv[++i];
      });
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${usage}`);
    process.exit(2);
  }
  return explicit;
}
