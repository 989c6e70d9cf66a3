// CUDA kernel bodies on the CPU, for machines without a GPU (CI): each tests/kernel-emulation/
// *_test.cc / *_selftest.cc is built with g++ against the emulator (tests/kernel-emulation/
// cuda_emulator.h: one OS thread per CUDA thread, real __syncthreads / cluster.sync barriers,
// per-block shared memory reached through map_shared_rank) and run. Each program prints one JSON
// line (tests/kernel-emulation/check.h): its cases, each checked against a float64 reference, and
// the "death" cases, run one per process, that must abort with a given message (the emulator's
// own checks: bad map_shared_rank, barrier mismatch, deadlock, out-of-bounds access, ...).
// A new program is picked up by its name alone.
//
// TINYNN_EMU_TSAN=1 builds the programs with ThreadSanitizer (minutes, not for every run): the
// emulator's barriers carry happens-before, so a race it reports between emulated threads is a
// kernel's shared- or global-memory access missing a __syncthreads / cluster.sync.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { programEnv } from './helpers/program-env';

const ROOT = path.join(__dirname, '..');
const DIR = path.join(__dirname, 'kernel-emulation');
const PROGRAMS = fs.readdirSync(DIR).filter((f) => /_(self)?test\.cc$/.test(f)).sort();
// -ffp-contract=off: the bodies' float operations round as written (the GPU's fmaf stays a fused
// multiply-add, nothing else is fused), so the emulator computes the bits the GPU does.
const TSAN = process.env.TINYNN_EMU_TSAN === '1';
const FLAGS = ['-std=c++20', '-O2', '-pthread', '-ffp-contract=off', '-Wall', '-Wextra', '-Wno-unknown-pragmas', `-I${ROOT}`,
  ...(TSAN ? ['-fsanitize=thread', '-g'] : [])];
const RUN_TIMEOUT_MS = TSAN ? 1_500_000 : 170_000;

interface CaseResult {
  name: string;
  pass: boolean;
  checked: number;
  max_abs: number | null;  // null: not finite
  max_rel: number | null;
  seconds: number | null;
  detail: string;
}
interface DeathCase {
  name: string;
  expect: string;
}
interface ProgramOutput {
  program: string;
  cases: CaseResult[];
  death: DeathCase[];
}
interface Exit {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function gxx(): string | null {
  try {
    return execFileSync('g++', ['--version'], { encoding: 'utf8', env: programEnv({}) }).split('\n')[0];
  } catch {
    return null;
  }
}
const compiler = gxx();

/** Runs a program to its end, however it ends. */
function run(file: string, args: string[], env: Record<string, string> = {}, timeout = RUN_TIMEOUT_MS): Promise<Exit> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(file, args, { env: programEnv(env), timeout, maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string | null }) | null;
      resolve({
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        signal: e ? (e.signal ?? null) : null,
        stdout,
        stderr: e && typeof e.code === 'string' ? `${stderr}${e.message}` : stderr,
        seconds: (Date.now() - t0) / 1000,
      });
    });
  });
}

function parseOutput(stdout: string): ProgramOutput | null {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ProgramOutput;
  } catch {
    return null;
  }
}

const num = (v: number | null, digits = 2): string => (v === null ? 'not finite' : v.toExponential(digits));

describe.skipIf(!compiler)(`CUDA kernel bodies on the CPU emulator${TSAN ? ' (ThreadSanitizer)' : ''}${compiler ? '' : ' (skipped: g++ not on PATH)'}`, () => {
  let tmp = '';
  const built = new Map<string, { bin?: string; error?: string }>();
  const outputs = new Map<string, ProgramOutput>();

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-kernel-emulation-'));
    await Promise.all(
      PROGRAMS.map(async (file) => {
        const bin = path.join(tmp, file.replace(/\.cc$/, ''));
        const r = await run('g++', [...FLAGS, '-o', bin, path.join(DIR, file)], {}, 240_000);
        if (r.code === 0) {
          if (r.stderr.trim()) console.warn(`${file}: compiler warnings:\n${r.stderr.split('\n').slice(0, 40).join('\n')}`);
          built.set(file, { bin });
        } else {
          built.set(file, { error: `g++ ${FLAGS.join(' ')} ${file} failed:\n${r.stderr.split('\n').slice(0, 60).join('\n')}` });
        }
      }),
    );
  }, 300_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('finds the programs', () => {
    expect(PROGRAMS).toContain('emulator_selftest.cc');
  });

  for (const file of PROGRAMS) {
    it(`${file}: every case matches its reference`, async () => {
      const b = built.get(file);
      expect(b?.error, b?.error).toBeUndefined();
      const r = await run(b?.bin as string, []);
      const out = parseOutput(r.stdout);
      expect(out, `${file} printed no result line (exit ${r.code}, signal ${r.signal}):\n${r.stderr.slice(-4000)}`).not.toBeNull();
      const o = out as ProgramOutput;
      outputs.set(file, o);
      console.log(
        `${o.program}: ${o.cases.length} cases in ${r.seconds.toFixed(1)} s\n` +
          o.cases
            .map((c) => `  ${c.pass ? 'ok  ' : 'FAIL'} ${(c.seconds ?? 0).toFixed(2).padStart(6)} s  max_rel ${num(c.max_rel)}  max_abs ${num(c.max_abs)}  ${c.name}${c.detail ? `: ${c.detail}` : ''}`)
            .join('\n'),
      );
      expect(o.cases.length).toBeGreaterThan(0);
      for (const c of o.cases) {
        expect.soft(c.pass, `${c.name}: ${c.detail}`).toBe(true);
        expect.soft(c.checked, `${c.name}: nothing compared`).toBeGreaterThan(0);
      }
      expect(r.stderr, 'ThreadSanitizer report').not.toContain('ThreadSanitizer');
      expect(r.code, r.stderr.slice(-4000)).toBe(o.cases.every((c) => c.pass) ? 0 : 1);
    }, RUN_TIMEOUT_MS + 10_000);

    it(`${file}: the checks that must abort do`, async () => {
      const o = outputs.get(file);
      expect(o, `${file} did not run to completion (see the test above)`).toBeDefined();
      const deaths = (o as ProgramOutput).death;
      // EMU_STALL_S: the deadlock case waits this long for progress before it is reported.
      const exits = await Promise.all(
        deaths.map((d) => run(built.get(file)?.bin as string, ['--death', d.name], { EMU_STALL_S: '2' }, 60_000)),
      );
      deaths.forEach((d, i) => {
        const r = exits[i];
        expect.soft(r.code !== 0, `${d.name}: exited with 0, it must abort\n${r.stderr}`).toBe(true);
        expect.soft(r.signal === 'SIGTERM', `${d.name}: timed out instead of aborting`).toBe(false);
        expect.soft(r.stderr, `${d.name}: the reason on stderr`).toContain(d.expect);
      });
    }, 70_000);
  }
});
