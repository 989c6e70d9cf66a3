#!/usr/bin/env node
// The `tinynn` command: picks the subcommand and turns its outcome into an exit code
// (0 success, 1 failure, 2 bad usage), with errors on stderr.
import { UsageError } from './args';
import type { Command } from './command';
import { evalCommand } from './commands/eval';
import { exportCommand } from './commands/export';
import { trainCommand } from './commands/train';

const COMMANDS: readonly Command[] = [trainCommand, evalCommand, exportCommand];
const SYNOPSIS = 'tinynn <command> [options]';

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `Usage: ${SYNOPSIS}\n\nCommands:\n${list}\n\nRun 'tinynn <command> --help' for a command's options.\n`;
}

function report(err: unknown, command: Command | undefined): number {
  if (err instanceof UsageError) {
    const prefix = command ? `tinynn ${command.name}` : 'tinynn';
    process.stderr.write(`${prefix}: ${err.message}\nUsage: ${command?.synopsis ?? SYNOPSIS}\n` +
      `Run '${prefix} --help' for more.\n`);
    return 2;
  }
  const debug = process.env.TINYNN_DEBUG === '1';
  const text = err instanceof Error ? (debug && err.stack ? err.stack : err.message) : String(err);
  process.stderr.write(`tinynn${command ? ` ${command.name}` : ''}: error: ${text}\n`);
  return 1;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '-h' || name === '--help') {
    process.stdout.write(help());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (name === undefined) throw new UsageError('no command given');
    if (!command) throw new UsageError(`unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    return await command.run(rest);
  } catch (err) {
    return report(err, command);
  }
}

// exitCode rather than process.exit(): lets stdout drain when it is a pipe.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
