// Concurrency (issue 7): models training at once in one process match one-at-a-time runs bit for
// bit; worker_threads each load the addon (per-env instance data) and train; a worker terminated
// mid-fit and a process that exits or is killed mid-fit neither crash nor corrupt a save.
import { describe, expect, it } from 'vitest';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { Worker } from 'worker_threads';
import { decodeSafetensors } from '../dist/io/safetensors.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const common = require('./reliability/train-common.cjs') as {
  makeRun(seed: number): { model: { stateDict(): Record<string, { toArray(): ArrayLike<number> }> }; trainer: { fit(d: unknown, o: unknown): Promise<unknown> }; data: unknown };
  weightsOf(model: unknown): Record<string, number[]>;
  save(model: unknown, file: string): Promise<void>;
};
const DIR = path.join(__dirname, 'reliability');
const SEEDS = [11, 12, 13];
const EPOCHS = 3;

function bits(w: Record<string, number[]>): Record<string, string> {
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Buffer.from(Float32Array.from(v).buffer).toString('hex')]));
}

async function trainAlone(seed: number): Promise<Record<string, number[]>> {
  const { model, trainer, data } = common.makeRun(seed);
  await trainer.fit(data, { epochs: EPOCHS, batchSize: 16, seed });
  return common.weightsOf(model);
}

function runWorker(data: Record<string, unknown>): Promise<{ weights?: Record<string, number[]>; ownTensor?: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(path.join(DIR, 'train-worker.cjs'), { workerData: data });
    w.once('message', (m) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
}

function runChild(args: string[], onStdout?: (text: string, kill: () => void) => void): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(DIR, 'exit-during-fit.cjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.on('data', (d: Buffer) => onStdout?.(d.toString(), () => child.kill('SIGKILL')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stderr }); });
  });
}

describe('concurrency', () => {
  let alone: Record<string, string>[];

  it('models training at once in one process give the same weights as one at a time, bit for bit', async () => {
    alone = [];
    for (const seed of SEEDS) alone.push(bits(await trainAlone(seed)));
    const together = await Promise.all(SEEDS.map((seed) => trainAlone(seed)));
    together.forEach((w, i) => expect(bits(w)).toEqual(alone[i]));
    expect(alone[0]).not.toEqual(alone[1]); // different seeds really differ
  });

  it('worker_threads each load the addon and train to the same weights', async () => {
    const results = await Promise.all(SEEDS.map((seed) => runWorker({ seed, epochs: EPOCHS })));
    results.forEach((r, i) => {
      expect(r.error).toBeUndefined();
      expect(r.ownTensor).toBe(true);
      expect(bits(r.weights!)).toEqual(alone[i]);
    });
  });

  it('a worker terminated in the middle of a fit does not take the process down', async () => {
    for (let i = 0; i < 3; i++) {
      const w = new Worker(path.join(DIR, 'train-worker.cjs'), { workerData: { seed: 1, mode: 'terminate-mid-fit' } });
      await new Promise<void>((resolve, reject) => { w.once('message', () => resolve()); w.once('error', reject); });
      expect(await w.terminate()).toBe(1);
    }
    // And this process still trains.
    expect(bits(await trainAlone(SEEDS[0]))).toEqual(alone[0]);
  });

  it('process.exit() in the middle of a long fit exits at once with its code, not a signal', async () => {
    const t0 = Date.now();
    const r = await runChild(['exit']);
    // The fit would run for minutes; the Trainer's exit listener stops it at the next step.
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(7);
    expect(r.stderr).not.toMatch(/Sanitizer|Segmentation|Aborted|terminate called/);
  });


  it('exiting or being killed while saving leaves the existing file whole (atomic writes)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-exit-'));
    try {
      const file = path.join(dir, 'model.safetensors');
      const { model } = common.makeRun(99);
      await common.save(model, file);
      const original = fs.readFileSync(file);
      const names = [...decodeSafetensors(original, file).tensors.keys()].sort();
      const whole = (): void => {
        const now = fs.readFileSync(file);
        const decoded = decodeSafetensors(now, file); // throws on a torn file
        expect([...decoded.tensors.keys()].sort()).toEqual(names);
        expect(now.length).toBe(original.length);
      };
      // Killed with SIGKILL at a random moment of a save loop, several times.
      for (let i = 0; i < 4; i++) {
        const r = await runChild(['save-loop', file], (text, kill) => {
          if (text.includes('saving')) setTimeout(kill, 20 + 40 * i);
        });
        expect(r.signal).toBe('SIGKILL');
        whole();
      }
      // process.exit() with a save in flight.
      for (const after of [1, 5]) {
        const r = await runChild(['save-loop', file, String(after)]);
        expect(r.signal).toBeNull();
        expect(r.code).toBe(9);
        whole();
      }
      // Temp files of interrupted saves may stay behind (named .model.safetensors.PID.RANDOM.tmp);
      // never a partial model.safetensors.
      for (const f of fs.readdirSync(dir)) expect(f === 'model.safetensors' || /^\.model\.safetensors\.\d+\.[0-9a-f]+\.tmp$/.test(f)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
