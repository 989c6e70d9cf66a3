// The CPU GEMM (cpp/cpu/gemm*.cc) against a float64 JavaScript reference, on every kernel set
// this CPU has: the default (avx512 or avx2 where available), avx2 and portable, switched with
// TINYNN_GEMM (read by the native code on every call).
import { execFileSync } from 'child_process';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../dist/native.js';
import { randomArray } from './helpers/reference';

type Shape = [M: number, N: number, K: number];

const cpu = (data: Float32Array, shape: number[]) => new native.Tensor(data, shape, 'cpu');

// Every size of 1, 7, 33, 129, 785 in every position, the 784-128-10 MLP's shapes, and the
// skinny ones that take the dot-product path (M <= 4 with transB, N <= 4 without transA).
const SHAPES: Shape[] = [
  [1, 1, 1], [1, 7, 785], [7, 1, 129], [33, 785, 7], [785, 33, 1], [129, 129, 33], [785, 7, 129],
  [7, 129, 785], [1, 785, 33], [129, 1, 785], [33, 33, 129], [129, 785, 129], [4, 33, 785],
  [785, 3, 129], [256, 128, 784], [128, 784, 64], [64, 10, 128], [10, 128, 256], [256, 128, 10],
];

// alpha, beta (0: C starts as NaN garbage that must be ignored).
const SCALES: [number, number][] = [[1, 0], [-0.5, 1], [2.25, 0.3]];

/** Stored shapes of a and b for C[M,N] = op(a)·op(b). */
function operandShapes([M, N, K]: Shape, ta: boolean, tb: boolean): [number[], number[]] {
  return [ta ? [K, M] : [M, K], tb ? [N, K] : [K, N]];
}

/**
 * max over C of |c − ref| / (|alpha|·Σ_k |a_mk·b_kn| + |beta·c0|): the error relative to the
 * magnitude that fp32 accumulation of that element works with.
 */
function gemmError(c: ArrayLike<number>, a: Float32Array, b: Float32Array, c0: Float32Array,
  [M, N, K]: Shape, ta: boolean, tb: boolean, alpha: number, beta: number): number {
  let worst = 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = 0, mag = 0;
      for (let k = 0; k < K; k++) {
        const p = (ta ? a[k * M + m] : a[m * K + k]) * (tb ? b[n * K + k] : b[k * N + n]);
        sum += p;
        mag += Math.abs(p);
      }
      const old = beta === 0 ? 0 : beta * c0[m * N + n];
      const ref = alpha * sum + old;
      const scale = Math.abs(alpha) * mag + Math.abs(old);
      const err = Math.abs(c[m * N + n] - ref) / Math.max(scale, 1e-30);
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
    }
  }
  return worst;
}

/** Runs native gemm on fresh tensors and returns C. */
function runGemm(shape: Shape, ta: boolean, tb: boolean, alpha: number, beta: number, seed: number) {
  const [M, N, K] = shape;
  const [aShape, bShape] = operandShapes(shape, ta, tb);
  const a = randomArray(M * K, seed), b = randomArray(K * N, seed + 1);
  const c0 = beta === 0 ? new Float32Array(M * N).fill(NaN) : randomArray(M * N, seed + 2);
  const c = cpu(c0, [M, N]);
  native.ops.gemm(cpu(a, aShape), cpu(b, bShape), c, ta, tb, alpha, beta);
  return { a, b, c0, c: c.toArray() as Float32Array };
}

// The kernel sets to cover: the default, and each one TINYNN_GEMM can force.
const PATHS = ['default', 'avx2', 'portable'] as const;

for (const kernelPath of PATHS) {
  describe(`GEMM, ${kernelPath} kernels`, () => {
    const saved = process.env.TINYNN_GEMM;
    beforeAll(() => {
      if (kernelPath === 'default') delete process.env.TINYNN_GEMM;
      else process.env.TINYNN_GEMM = kernelPath;
    });
    afterAll(() => {
      if (saved === undefined) delete process.env.TINYNN_GEMM;
      else process.env.TINYNN_GEMM = saved;
    });

    it('runs the kernel set asked for', () => {
      const name = native.bench.gemmKernel();
      if (kernelPath === 'portable') expect(name).toBe('portable');
      // avx2 is forced only where the CPU has it; otherwise the widest set (portable) runs.
      if (kernelPath === 'avx2') expect(['avx2', 'portable']).toContain(name);
      if (kernelPath === 'default') expect(['avx512', 'avx2', 'portable']).toContain(name);
    });

    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const name = `op(a)${ta ? 'ᵀ' : ''}·op(b)${tb ? 'ᵀ' : ''}`;
        it(`${name} vs float64, ${SHAPES.length} shapes, alpha/beta`, () => {
          SHAPES.forEach((shape, i) => {
            const [alpha, beta] = SCALES[i % SCALES.length];
            const { a, b, c0, c } = runGemm(shape, ta, tb, alpha, beta, 100 * i + 7);
            const err = gemmError(c, a, b, c0, shape, ta, tb, alpha, beta);
            expect(err, `shape ${shape.join('x')} alpha ${alpha} beta ${beta}`).toBeLessThanOrEqual(1e-5);
          });
        });
      }
    }

    it('ignores NaN in C when beta = 0, over several K blocks (K = 1100)', () => {
      const shape: Shape = [33, 65, 1100];
      const { a, b, c0, c } = runGemm(shape, true, false, 1, 0, 3);
      expect(c.every((v) => Number.isFinite(v))).toBe(true);
      expect(gemmError(c, a, b, c0, shape, true, false, 1, 0)).toBeLessThanOrEqual(1e-5);
    });

    it('fuses bias + ReLU into the store (linear)', () => {
      const layers = [[1, 785, 129], [7, 33, 10], [64, 784, 128], [129, 129, 33], [33, 7, 785]];
      for (const [B, inF, outF] of layers) {
        const x = randomArray(B * inF, B), w = randomArray(outF * inF, inF), bias = randomArray(outF, outF);
        for (const relu of [false, true]) {
          const y = native.ops.linear(cpu(x, [B, inF]), cpu(w, [outF, inF]), cpu(bias, [outF]), relu)
            .toArray();
          let worst = 0;
          for (let r = 0; r < B; r++) {
            for (let o = 0; o < outF; o++) {
              let sum = bias[o], mag = Math.abs(bias[o]);
              for (let k = 0; k < inF; k++) {
                const p = x[r * inF + k] * w[o * inF + k];
                sum += p;
                mag += Math.abs(p);
              }
              const ref = relu ? Math.max(sum, 0) : sum;
              worst = Math.max(worst, Math.abs(y[r * outF + o] - ref) / mag);
            }
          }
          expect(worst, `[${B},${inF}]x[${outF},${inF}]ᵀ relu=${relu}`).toBeLessThanOrEqual(1e-5);
          if (relu) expect(Array.from(y).every((v) => v >= 0)).toBe(true);
        }
      }
    });

    it('gives identical bits for 1, 2 and 3 threads (K is never split)', () => {
      // A fresh process per thread count: the pool is sized once, at first use.
      const script = `
        const { native } = require(${JSON.stringify(path.resolve(__dirname, '../dist/native.js'))});
        let s = 1;
        const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1;
        const rand = (n) => Float32Array.from({ length: n }, next);
        const out = [];
        // Tiles, and (M = 3 with transB) the dot-product kernels.
        for (const [M, N, K] of [[257, 300, 1100], [3, 700, 900]]) {
          for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
            const a = new native.Tensor(rand(M * K), ta ? [K, M] : [M, K], 'cpu');
            const b = new native.Tensor(rand(K * N), tb ? [N, K] : [K, N], 'cpu');
            const c = new native.Tensor(rand(M * N), [M, N], 'cpu');
            native.ops.gemm(a, b, c, ta, tb, 0.7, 0.3);
            out.push(Buffer.from(c.toArray().buffer).toString('base64'));
          }
        }
        process.stdout.write(JSON.stringify(out));`;
      const results = [1, 2, 3].map((threads) => execFileSync(process.execPath, ['-e', script], {
        env: { ...process.env, TINYNN_NUM_THREADS: String(threads) },
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      }));
      expect(results[1]).toBe(results[0]);
      expect(results[2]).toBe(results[0]);
    });
  });
}
