// The CUDA backend. Everywhere: the unavailable-CUDA paths (a true reason, 'auto' falling back once
// with a warning, an explicit 'cuda' failing with that reason) and, with a stand-in libcuda, the
// "driver too old" reason. On a machine with a GPU: every CUDA op against the CPU backend on
// random inputs (tests/gpu/op-checks.mjs, shared with scripts/gpu-check.sh) and the error paths.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'child_process';
import { createRequire } from 'module';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { native } from '../dist/native';
import { backends, nn, tensor } from '../dist/index';
// @ts-expect-error: a plain-node module without type declarations
import { errorChecks, makeRandom, opChecks } from './gpu/op-checks.mjs';

type Check = [string, () => { ok: boolean; err?: number; detail?: string }];

const info = backends();
const compiledIn = !/^built with(out CUDA|.*TINYNN_CUDA=off)/.test(info.reason);
const skipReason = info.cuda ? '' : ` (skipped: CUDA unavailable: ${info.reason})`;

// The reasons cuda_status() gives (cuda/cuda_status.cc, cuda/cublas_loader.cc,
// cpp/cuda_unavailable/): each names what is missing.
const KNOWN_REASONS = [
  /^no NVIDIA driver \(libcuda\.so\.1 not found\)$/,
  /^the NVIDIA driver is too old for CUDA \d+\.\d+ \((driver supports CUDA \d+\.\d+|its version is unknown)\)$/,
  /^no CUDA device found( \(CUDA_VISIBLE_DEVICES=".*"\))?$/,
  /^libcublas\.so\.13 not found \(tried: .+\); install cuBLAS/,
  / lacks .+ \(not a usable cuBLAS\)$/,
  /^cudaGetDeviceCount failed: cuda\w+ \(.+\)$/,
  /^built without CUDA: .+/,
  /^built with TINYNN_CUDA=off$/,
];

/** backends() in a child process whose environment has `env` added. */
function childBackends(env: Record<string, string>): { cuda: boolean; reason: string } {
  const script = `console.log(JSON.stringify(require(${JSON.stringify(path.resolve(__dirname, '../dist/native.js'))}).native.backends()))`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

function hasCompiler(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('CUDA availability', () => {
  it('backends() says whether CUDA is usable, and why not', () => {
    expect(info.cpu).toBe(true);
    expect(typeof info.cuda).toBe('boolean');
    if (info.cuda) {
      expect(info.reason).toBe('');
      expect(info.cudaDevices).toBeGreaterThan(0);
    } else {
      expect(info.cudaDevices).toBe(0);
      expect(KNOWN_REASONS.some((r) => r.test(info.reason)), `unexpected reason: ${info.reason}`).toBe(true);
    }
  });

  it.skipIf(info.cuda)(`an explicit 'cuda' device fails with the reason${info.cuda ? ' (skipped: CUDA is available)' : ''}`, () => {
    for (const device of ['cuda', 'cuda:0', 'cuda:1']) {
      expect(() => tensor([1, 2, 3], { device: device as 'cuda' })).toThrow(info.reason);
      expect(() => new native.Tensor(new Float32Array(3), [3], device)).toThrow(`CUDA is not available: ${info.reason}`);
    }
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
    expect(() => model.to('cuda')).toThrow(info.reason);
    expect(model.device).toBe('cpu');
  });

  it.skipIf(info.cuda)(`'auto' falls back to the CPU and says so once${info.cuda ? ' (skipped: CUDA is available)' : ''}`, async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const a = tensor([1, 2], { device: 'auto' });
      const b = tensor([3, 4], { device: 'auto' });
      expect(a.device).toBe('cpu');
      expect(b.device).toBe('cpu');
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    const fallbacks = warnings.filter((m) => m.includes(info.reason));
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toMatch(/using the CPU/);
  });

  it.skipIf(info.cuda === false)(`'auto' picks the GPU where there is one${info.cuda ? '' : skipReason}`, () => {
    expect(tensor([1, 2], { device: 'auto' }).device).toBe('cuda:0');
  });
});

/** The addon file this process loaded (from the module cache), else the default build. */
function loadedAddon(): string {
  const cached = Object.keys(createRequire(__filename).cache).find((f) => /tinynn[^/]*\.node$/.test(f));
  return cached ?? path.resolve(__dirname, '..', process.env.TINYNN_ADDON ?? 'build/Release/tinynn.node');
}

function hasReadelf(): boolean {
  try {
    execFileSync('readelf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('the addon binary', () => {
  it.skipIf(!hasReadelf())(`loads without any CUDA library: cudart static, cuBLAS and libcuda opened at run time${hasReadelf() ? '' : ' (skipped: no readelf)'}`, () => {
    const dynamic = execFileSync('readelf', ['-d', loadedAddon()], { encoding: 'utf8' });
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    expect(needed.length).toBeGreaterThan(0);
    expect(needed.filter((lib) => /cuda|cublas|nvidia/i.test(lib))).toEqual([]);
  });
});

describe('CUDA reasons with a stand-in driver library', () => {
  let dir = '';
  const usable = compiledIn && hasCompiler();
  beforeAll(() => {
    if (!usable) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-libcuda-'));
    // A libcuda.so.1 whose only entry point reports a CUDA 11.0 driver.
    fs.writeFileSync(path.join(dir, 'stub.c'), 'int cuDriverGetVersion(int* v) { *v = 11000; return 0; }\n');
    execFileSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, 'libcuda.so.1'), path.join(dir, 'stub.c')]);
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const why = !compiledIn ? ` (skipped: this build has no CUDA: ${info.reason})` : !hasCompiler() ? ' (skipped: no C compiler to build the stand-in)' : '';
  it.skipIf(!usable)(`a driver older than the runtime is named with both versions${why}`, () => {
    const r = childBackends({ LD_LIBRARY_PATH: dir });
    expect(r.cuda).toBe(false);
    expect(r.reason).toMatch(/^the NVIDIA driver is too old for CUDA \d+\.\d+ \(driver supports CUDA 11\.0\)$/);
  });
});

describe(`CUDA ops against the CPU backend${skipReason}`, () => {
  const seed = Date.now() % 2 ** 31;
  const checks: Check[] = info.cuda ? [...opChecks(native, makeRandom(seed)), ...errorChecks(native)] : [];
  it.skipIf(!info.cuda)(`cuBLAS override: a wrong TINYNN_CUBLAS_PATH is reported, never replaced${skipReason}`, () => {
    const r = childBackends({ TINYNN_CUBLAS_PATH: '/nonexistent/libcublas.so.13' });
    expect(r.cuda).toBe(false);
    expect(r.reason).toMatch(/^libcublas\.so\.13 not found \(tried: TINYNN_CUBLAS_PATH: \/nonexistent\/libcublas\.so\.13\)/);
  });
  if (!info.cuda) {
    it.skip(`every op vs the CPU backend${skipReason}`, () => {});
    return;
  }
  for (const [name, fn] of checks) {
    it(`${name} (seed ${seed})`, () => {
      const r = fn();
      expect(r.ok, r.detail).toBe(true);
    });
  }
});
