// Runs the compiled `tinynn` command (dist/cli/main.js) as a child process.
import { spawn } from 'child_process';
import * as path from 'path';

export const CLI_MAIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** `node dist/cli/main.js ...args` with `env` added to this process's environment. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
