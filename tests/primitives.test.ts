// The Backend's generic primitives on the CPU (native.ops: unary, binary with broadcasting, reduce,
// the softmax family, argmax, mse, gatherRows) against float64 JavaScript references written here.
import { describe, expect, it } from 'vitest';
import { native } from '../dist/native.js';
import type { NativeBinaryOp, NativeTensor, NativeUnaryOp } from '../lib/native-types';
import { erf, erfc, phi, Phi, randomArray } from './helpers/reference';

type Data = Float32Array | Int32Array | Uint8Array;
const cpu = (data: Data, shape: number[]) => new native.Tensor(data, shape, 'cpu');
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f32 = (t: NativeTensor) => t.toArray() as Float32Array;

// ---------------------------------------------------------------------------------------------
// Float64 reference math.

/**
 * Expects got ≈ ref elementwise: |got − ref| <= rtol·|ref| + atol, NaN exactly where ref is NaN,
 * infinities equal. Reports the first few offenders.
 */
function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, rtol: number, atol = 0, what = '') {
  expect(got.length, `${what} length`).toBe(ref.length);
  const bad: string[] = [];
  for (let i = 0; i < ref.length && bad.length < 5; i++) {
    const g = got[i], r = ref[i];
    let ok: boolean;
    if (Number.isNaN(r)) ok = Number.isNaN(g);
    else if (!Number.isFinite(r)) ok = g === r;
    else ok = Math.abs(g - r) <= rtol * Math.abs(r) + atol;
    if (!ok) bad.push(`[${i}] got ${g}, expected ${r}`);
  }
  expect(bad, what).toEqual([]);
}

/** Bit patterns of a float32 array (for reproducibility checks: NaNs and -0 included). */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

// ---------------------------------------------------------------------------------------------
// What the native shapes allow: the tensor constructor may cap the rank below Broadcast's 6.

function rankSupported(rank: number): boolean {
  try {
    cpu(new Float32Array(1), new Array(rank).fill(1)).dispose();
    return true;
  } catch {
    return false;
  }
}
const rank5 = rankSupported(5), rank6 = rankSupported(6);
const rankNote = (ok: boolean, r: number) => (ok ? '' : ` (skipped: native.Tensor does not take rank-${r} shapes)`);

// ---------------------------------------------------------------------------------------------

describe('the float64 reference erf', () => {
  it('matches tabulated values (checks the reference itself)', () => {
    // erf values to 16 digits (A&S table / mpmath); erfc where erf rounds to 1.
    const table: [number, number][] = [
      [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
      [1.5, 0.9661051464753108], [2, 0.9953222650189527], [2.9, 0.9999589021219005],
    ];
    for (const [x, v] of table) {
      expect(Math.abs(erf(x) - v)).toBeLessThan(1e-15);
      expect(Math.abs(erf(-x) + v)).toBeLessThan(1e-15);
    }
    const tails: [number, number][] = [[3, 2.209049699858544e-5], [4, 1.541725790028002e-8], [5, 1.537459794428035e-12]];
    for (const [x, v] of tails) expect(Math.abs(erfc(x) - v) / v).toBeLessThan(1e-13);
    expect(Math.abs(Phi(-5) - 2.866515718791939e-7) / 2.866515718791939e-7).toBeLessThan(1e-13);
    expect(erf(0)).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------

interface UnaryCase {
  name: string;
  op: NativeUnaryOp;
  a?: number;
  b?: number;
  lo: number;
  hi: number;
  ref: (x: number) => number;
  rtol: number;
  atol?: number;
}

const unaryCases: UnaryCase[] = [
  { name: 'neg', op: 'neg', lo: -5, hi: 5, ref: (x) => -x, rtol: 0 },
  { name: 'exp', op: 'exp', lo: -20, hi: 20, ref: Math.exp, rtol: 1e-5 },
  { name: 'log', op: 'log', lo: 1e-3, hi: 50, ref: Math.log, rtol: 1e-5, atol: 1e-7 },
  { name: 'log of negatives is NaN', op: 'log', lo: -3, hi: -1e-3, ref: Math.log, rtol: 0 },
  { name: 'sqrt', op: 'sqrt', lo: 0, hi: 100, ref: Math.sqrt, rtol: 1e-6 },
  { name: 'sqrt of negatives is NaN', op: 'sqrt', lo: -4, hi: -1e-3, ref: Math.sqrt, rtol: 0 },
  { name: 'abs', op: 'abs', lo: -5, hi: 5, ref: Math.abs, rtol: 0 },
  { name: 'relu', op: 'relu', lo: -5, hi: 5, ref: (x) => (x > 0 ? x : 0), rtol: 0 },
  { name: 'leakyRelu(0.1)', op: 'leakyRelu', a: 0.1, lo: -5, hi: 5, ref: (x) => (x > 0 ? x : 0.1 * x), rtol: 1e-6 },
  { name: 'leakyRelu(0.01)', op: 'leakyRelu', a: 0.01, lo: -5, hi: 5, ref: (x) => (x > 0 ? x : 0.01 * x), rtol: 1e-6 },
  { name: 'sigmoid', op: 'sigmoid', lo: -30, hi: 30, ref: (x) => 1 / (1 + Math.exp(-x)), rtol: 1e-5 },
  { name: 'tanh', op: 'tanh', lo: -6, hi: 6, ref: Math.tanh, rtol: 1e-5, atol: 1e-7 },
  // gelu = x·Φ(x): float32's 1 + erf(·) loses ~6e-8 absolute to cancellation for negative x, hence atol.
  { name: 'gelu (erf form)', op: 'gelu', lo: -6, hi: 6, ref: (x) => x * Phi(x), rtol: 1e-5, atol: 1e-6 },
  { name: 'gelu near 0', op: 'gelu', lo: -0.5, hi: 0.5, ref: (x) => x * Phi(x), rtol: 1e-5, atol: 1e-8 },
  { name: 'pow(3) of signed bases', op: 'pow', a: 3, lo: -3, hi: 3, ref: (x) => x ** 3, rtol: 1e-5 },
  { name: 'pow(2.5)', op: 'pow', a: 2.5, lo: 0, hi: 4, ref: (x) => x ** 2.5, rtol: 1e-5 },
  { name: 'pow(2.5) of negatives is NaN', op: 'pow', a: 2.5, lo: -4, hi: -0.1, ref: (x) => x ** 2.5, rtol: 0 },
  { name: 'pow(-0.5)', op: 'pow', a: -0.5, lo: 0.01, hi: 9, ref: (x) => x ** -0.5, rtol: 1e-5 },
  { name: 'clamp(-0.5, 0.25)', op: 'clamp', a: -0.5, b: 0.25, lo: -2, hi: 2, ref: (x) => Math.min(Math.max(x, -0.5), 0.25), rtol: 0 },
  { name: 'affine(2.5, -0.75)', op: 'affine', a: 2.5, b: -0.75, lo: -3, hi: 3, ref: (x) => 2.5 * x - 0.75, rtol: 1e-6, atol: 1e-6 },
  { name: 'affine(-1e-3, 4) (x·s and x + s forms)', op: 'affine', a: -1e-3, b: 4, lo: -100, hi: 100, ref: (x) => Math.fround(-1e-3) * x + 4, rtol: 1e-6 },
];

describe('unary ops', () => {
  unaryCases.forEach((c, k) => {
    it(`${c.name} matches float64`, () => {
      const n = 1037;
      const x = randomArray(n, 100 + k, c.lo, c.hi);
      const xt = cpu(x, [n]);
      const y = native.ops.unary(xt, c.op, c.a ?? 0, c.b ?? 0);
      expect(y.shape).toEqual([n]);
      expect(y.dtype).toBe('float32');
      expectClose(f32(y), Array.from(x, c.ref), c.rtol, c.atol ?? 0, c.name);
      expect(Array.from(f32(xt))).toEqual(Array.from(x)); // input untouched
    });
  });

  it('exp stays finite up to the float32 limit (ln(FLT_MAX) ≈ 88.72)', () => {
    const x = [88.3, 88.5, 88.7];
    const y = f32(native.ops.unary(cpu(Float32Array.from(x), [3]), 'exp', 0, 0));
    expectClose(y, x.map((v) => Math.exp(Math.fround(v))), 1e-6, 0, 'exp near overflow');
  });

  it('keeps the shape of a 3-D input', () => {
    const x = randomArray(2 * 3 * 5, 9, -2, 2);
    const y = native.ops.unary(cpu(x, [2, 3, 5]), 'affine', 3, 1);
    expect(y.shape).toEqual([2, 3, 5]);
    expectClose(f32(y), Array.from(x, (v) => 3 * v + 1), 1e-6, 1e-6);
  });

  for (const op of ['gelu', 'exp', 'affine'] as NativeUnaryOp[]) {
    it(`${op} over 70001 elements (split over the thread pool)`, () => {
      const n = 70001;
      const x = randomArray(n, 7, -4, 4);
      const y = f32(native.ops.unary(cpu(x, [n]), op, 0.5, -2));
      const ref = op === 'gelu' ? (v: number) => v * Phi(v) : op === 'exp' ? Math.exp : (v: number) => 0.5 * v - 2;
      expectClose(y, Array.from(x, ref), 1e-5, 1e-6, op);
    });
  }

  it('every element is computed alike wherever a call starts: one call of 1037 elements = 1037 calls of one, bit for bit', () => {
    // A vectorised loop's body and its scalar tail must round alike, or results depend on how a
    // range is split (threads, a fused executor's row blocks).
    const n = 1037;
    const x = randomArray(n, 31, -5, 5);
    const y = randomArray(n, 32, -2, 2);
    for (const op of unaryCases.map((c) => c.op)) {
      const whole = f32(native.ops.unary(cpu(x, [n]), op, 0.3, 0.7));
      const single = Float32Array.from(x, (v) => f32(native.ops.unary(cpu(Float32Array.of(v), [1]), op, 0.3, 0.7))[0]);
      expect(bits(whole), op).toEqual(bits(single));
    }
    for (const op of ['geluGrad', 'sigmoidGrad', 'tanhGrad', 'leakyReluGrad'] as NativeBinaryOp[]) {
      const whole = f32(native.ops.binary(cpu(y, [n]), cpu(x, [n]), op, 0.2));
      const single = Float32Array.from(x, (v, i) => f32(native.ops.binary(cpu(Float32Array.of(y[i]), [1]), cpu(Float32Array.of(v), [1]), op, 0.2))[0]);
      expect(bits(whole), op).toEqual(bits(single));
    }
  });

  it('exp, sigmoid, tanh and gelu of NaN are NaN (inputs whose exponent arithmetic would be undefined)', () => {
    const x = Float32Array.from([NaN, -NaN, 1, NaN]);
    for (const op of ['exp', 'sigmoid', 'tanh', 'gelu'] as NativeUnaryOp[]) {
      const y = f32(native.ops.unary(cpu(x, [4]), op, 0, 0));
      expect([Number.isNaN(y[0]), Number.isNaN(y[1]), Number.isNaN(y[2]), Number.isNaN(y[3])], op).toEqual([true, true, false, true]);
    }
  });

  it('relu, leakyRelu and clamp propagate NaN', () => {
    const x = Float32Array.from([NaN, -1, 2, NaN, 0.1, -0.7]);
    const relu = f32(native.ops.unary(cpu(x, [6]), 'relu', 0, 0));
    expectClose(relu, [NaN, 0, 2, NaN, Math.fround(0.1), 0], 0, 0, 'relu');
    const leaky = f32(native.ops.unary(cpu(x, [6]), 'leakyRelu', 0.5, 0));
    expectClose(leaky, [NaN, -0.5, 2, NaN, Math.fround(0.1), Math.fround(-0.7) * 0.5], 1e-7, 0, 'leakyRelu');
    const clamp = f32(native.ops.unary(cpu(x, [6]), 'clamp', -0.5, 0.5));
    expectClose(clamp, [NaN, -0.5, 0.5, NaN, Math.fround(0.1), -0.5], 0, 0, 'clamp');
  });

  it('exp, log, sigmoid and tanh at the edges', () => {
    const x = Float32Array.from([0, -0, 1, -200, 200, Infinity, -Infinity]);
    const run = (op: NativeUnaryOp) => f32(native.ops.unary(cpu(x, [x.length]), op, 0, 0));
    expectClose(run('log'), [-Infinity, -Infinity, 0, NaN, Math.log(200), Infinity, NaN], 1e-6, 0, 'log');
    expectClose(run('exp'), [1, 1, Math.E, 0, Infinity, Infinity, 0], 1e-6, 0, 'exp');
    expectClose(run('sigmoid'), [0.5, 0.5, 1 / (1 + Math.exp(-1)), 0, 1, 1, 0], 1e-6, 0, 'sigmoid');
    expectClose(run('tanh'), [0, 0, Math.tanh(1), -1, 1, 1, -1], 1e-6, 0, 'tanh');
    const g = Float32Array.from([0, -0, 1, -200, 200, Infinity]);
    expectClose(f32(native.ops.unary(cpu(g, [g.length]), 'gelu', 0, 0)), [0, 0, Phi(1), 0, 200, Infinity], 1e-6, 0, 'gelu');
  });

  it('rejects non-float32 input, an unknown op and NaN parameters; infinite clamp bounds are open ends', () => {
    expect(() => native.ops.unary(cpu(Int32Array.from([1, 2]), [2]), 'neg', 0, 0)).toThrow(TypeError);
    expect(() => native.ops.unary(cpu(new Float32Array(2), [2]), 'cube' as NativeUnaryOp, 0, 0)).toThrow(RangeError);
    expect(() => native.ops.unary(cpu(new Float32Array(2), [2]), 'clamp', NaN, 1)).toThrow(RangeError);
    const x = Float32Array.from([-Infinity, -5, 0.5, 7, Infinity]);
    expect(Array.from(f32(native.ops.unary(cpu(x, [5]), 'clamp', -Infinity, 1)))).toEqual([-Infinity, -5, 0.5, 1, 1]);
    expect(Array.from(f32(native.ops.unary(cpu(x, [5]), 'clamp', 0, Infinity)))).toEqual([0, 0, 0.5, 7, Infinity]);
  });
});

// ---------------------------------------------------------------------------------------------

/** numpy's broadcast of two shapes, or null when they do not broadcast. */
function broadcastShape(a: number[], b: number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    const na = a[a.length - rank + d] ?? 1, nb = b[b.length - rank + d] ?? 1;
    if (na !== nb && na !== 1 && nb !== 1) return null;
    out.push(Math.max(na, nb));
  }
  return out;
}

/** The flat index into an operand of `shape` (right-aligned in `outShape`) for out's multi-index. */
function operandIndex(idx: number[], outShape: number[], shape: number[]): number {
  const off = outShape.length - shape.length;
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + (shape[d] === 1 ? 0 : idx[off + d]);
  return flat;
}

function binaryRef(a: ArrayLike<number>, aShape: number[], b: ArrayLike<number>, bShape: number[],
  f: (x: number, y: number) => number): { shape: number[]; out: Float64Array } {
  const shape = broadcastShape(aShape, bShape)!;
  const n = numel(shape);
  const out = new Float64Array(n);
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let r = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    out[i] = f(a[operandIndex(idx, shape, aShape)], b[operandIndex(idx, shape, bShape)]);
  }
  return { shape, out };
}

interface BinaryCase {
  op: NativeBinaryOp;
  param?: number;
  ref: (x: number, y: number) => number;
  genA: (n: number, seed: number) => Float32Array;
  genB: (n: number, seed: number) => Float32Array;
  rtol: number;
  atol?: number;
}

const uniform = (lo: number, hi: number) => (n: number, seed: number) => randomArray(n, seed, lo, hi);
/** Small integers: ties for eq/gt/lt/maximum. */
const ints = (n: number, seed: number) => randomArray(n, seed, -2.5, 2.5).map(Math.round);
/** A saved forward output with exact zeros among negatives and positives. */
const withZeros = (n: number, seed: number) => randomArray(n, seed, -1, 1).map((v, i) => (i % 4 === 1 ? 0 : v));
/** Divisors away from zero, either sign. */
const divisors = (n: number, seed: number) => randomArray(n, seed, 0.25, 2).map((v, i) => (i % 3 === 0 ? -v : v));
const nanMax = (x: number, y: number) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y));
const nanMin = (x: number, y: number) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y));

const binaryCases: BinaryCase[] = [
  { op: 'add', ref: (x, y) => x + y, genA: uniform(-3, 3), genB: uniform(-3, 3), rtol: 1e-6, atol: 1e-30 },
  { op: 'sub', ref: (x, y) => x - y, genA: uniform(-3, 3), genB: uniform(-3, 3), rtol: 1e-6, atol: 1e-30 },
  { op: 'mul', ref: (x, y) => x * y, genA: uniform(-3, 3), genB: uniform(-3, 3), rtol: 1e-6, atol: 1e-30 },
  { op: 'div', ref: (x, y) => x / y, genA: uniform(-3, 3), genB: divisors, rtol: 1e-6, atol: 1e-30 },
  { op: 'pow', ref: (x, y) => x ** y, genA: uniform(0.1, 3), genB: uniform(-2.5, 2.5), rtol: 1e-5 },
  { op: 'maximum', ref: nanMax, genA: ints, genB: uniform(-2, 2), rtol: 0 },
  { op: 'minimum', ref: nanMin, genA: uniform(-2, 2), genB: ints, rtol: 0 },
  { op: 'eq', ref: (x, y) => (x === y ? 1 : 0), genA: ints, genB: ints, rtol: 0 },
  { op: 'gt', ref: (x, y) => (x > y ? 1 : 0), genA: ints, genB: ints, rtol: 0 },
  { op: 'lt', ref: (x, y) => (x < y ? 1 : 0), genA: ints, genB: ints, rtol: 0 },
  { op: 'reluGrad', ref: (dy, y) => (y > 0 ? dy : 0), genA: uniform(-2, 2), genB: withZeros, rtol: 0 },
  { op: 'leakyReluGrad', param: 0.2, ref: (dy, y) => (y > 0 ? dy : 0.2 * dy), genA: uniform(-2, 2), genB: withZeros, rtol: 1e-6 },
  { op: 'sigmoidGrad', ref: (dy, y) => dy * y * (1 - y), genA: uniform(-2, 2), genB: uniform(0, 1), rtol: 1e-6, atol: 1e-12 },
  // 1 − y² cancels for |y| near 1 in float32: absolute slack of a few ulps of |dy|.
  { op: 'tanhGrad', ref: (dy, y) => dy * (1 - y * y), genA: uniform(-2, 2), genB: uniform(-1, 1), rtol: 1e-6, atol: 1e-6 },
  { op: 'geluGrad', ref: (dy, x) => dy * (Phi(x) + x * phi(x)), genA: uniform(-2, 2), genB: uniform(-5, 5), rtol: 1e-5, atol: 1e-6 },
];

const shapePairs: [number[], number[]][] = [
  [[7, 9], [7, 9]],
  [[4, 1, 6], [4, 1, 6]],
  [[3, 4], [4]],
  [[4], [3, 4]],
  [[3, 1], [1, 4]],
  [[2, 1, 4], [3, 1]],
  [[1, 1, 6], [6]],
  [[1], [5, 6]],
  [[5, 6], [1]],
  [[2, 3, 1, 5], [3, 4, 1]],
  [[1, 4, 1, 3], [2, 1, 5, 1]],
  // More than 16384 elements: the thread pool splits the flat path and the rows of the broadcast path.
  [[200, 250], [200, 250]],
  [[300, 200], [200]],
  [[300, 1], [1, 200]],
  [[200, 300], [200, 1]],
  [[1, 300], [200, 1]],
  [[20000, 1], [1]],
];

function checkBinary(c: BinaryCase, aShape: number[], bShape: number[], seed: number) {
  const a = c.genA(numel(aShape), seed), b = c.genB(numel(bShape), seed + 1);
  const at = cpu(a, aShape), bt = cpu(b, bShape);
  const out = native.ops.binary(at, bt, c.op, c.param ?? 0);
  const ref = binaryRef(a, aShape, b, bShape, c.ref);
  expect(out.shape).toEqual(ref.shape);
  expect(out.dtype).toBe('float32');
  expectClose(f32(out), ref.out, c.rtol, c.atol ?? 0, `${c.op} ${JSON.stringify(aShape)}·${JSON.stringify(bShape)}`);
  // Operands untouched.
  expect(bits(f32(at))).toEqual(bits(a));
  expect(bits(f32(bt))).toEqual(bits(b));
}

describe('binary ops with broadcasting', () => {
  binaryCases.forEach((c, k) => {
    describe(c.op, () => {
      shapePairs.forEach(([aShape, bShape], s) => {
        it(`${JSON.stringify(aShape)} with ${JSON.stringify(bShape)}`, () => checkBinary(c, aShape, bShape, 1000 * k + 10 * s));
      });
      it.skipIf(!rank5)(`5-D: [2,1,3,1,4] with [5,1,2,1]${rankNote(rank5, 5)}`, () =>
        checkBinary(c, [2, 1, 3, 1, 4], [5, 1, 2, 1], 1000 * k + 500));
      it.skipIf(!rank6)(`6-D: [2,1,2,1,3,2] with [1,3,1,2,1,2]${rankNote(rank6, 6)}`, () =>
        checkBinary(c, [2, 1, 2, 1, 3, 2], [1, 3, 1, 2, 1, 2], 1000 * k + 600));
    });
  });

  it('a rank-0 operand (a full reduction) broadcasts against any shape', () => {
    const s = native.ops.reduce(cpu(Float32Array.from([1.5, 2.25]), [2]), 'sum', null, false);
    expect(s.shape).toEqual([]);
    const x = randomArray(30, 41, -2, 2);
    expectClose(f32(native.ops.binary(s, cpu(x, [5, 6]), 'sub', 0)), Array.from(x, (v) => 3.75 - v), 1e-6, 1e-30, 's − x');
    const y = native.ops.binary(cpu(x, [5, 6]), s, 'div', 0);
    expect(y.shape).toEqual([5, 6]);
    expectClose(f32(y), Array.from(x, (v) => v / 3.75), 1e-6, 1e-30, 'x / s');
    const ss = native.ops.binary(s, s, 'mul', 0);
    expect(ss.shape).toEqual([]);
    expect(Array.from(f32(ss))).toEqual([3.75 * 3.75]);
  });

  it('maximum and minimum propagate NaN from either side; comparisons with NaN are false', () => {
    const a = Float32Array.from([NaN, 1, NaN, 2, -3]);
    const b = Float32Array.from([1, NaN, NaN, -1, -3]);
    const run = (op: NativeBinaryOp, x = a, y = b) => Array.from(f32(native.ops.binary(cpu(x, [x.length]), cpu(y, [y.length]), op, 0)));
    expectClose(run('maximum'), [NaN, NaN, NaN, 2, -3], 0, 0, 'maximum');
    expectClose(run('minimum'), [NaN, NaN, NaN, -1, -3], 0, 0, 'minimum');
    expectClose(run('maximum', b, a), [NaN, NaN, NaN, 2, -3], 0, 0, 'maximum swapped');
    expectClose(run('minimum', b, a), [NaN, NaN, NaN, -1, -3], 0, 0, 'minimum swapped');
    expect(run('eq')).toEqual([0, 0, 0, 0, 1]);
    expect(run('gt')).toEqual([0, 0, 0, 1, 0]);
    expect(run('lt')).toEqual([0, 0, 0, 0, 0]);
    // A NaN scalar broadcast over a row (the scalar-operand paths of both sides).
    const nan = Float32Array.from([NaN]);
    expectClose(run('maximum', nan, b), [NaN, NaN, NaN, NaN, NaN], 0, 0, 'NaN scalar a');
    expectClose(run('minimum', b, nan), [NaN, NaN, NaN, NaN, NaN], 0, 0, 'NaN scalar b');
  });

  it('reluGrad passes nothing where y <= 0, and NaN dy only where y > 0', () => {
    const dy = Float32Array.from([NaN, NaN, 3, 4]);
    const y = Float32Array.from([1, 0, -0, 2]);
    const out = Array.from(f32(native.ops.binary(cpu(dy, [4]), cpu(y, [4]), 'reluGrad', 0)));
    expectClose(out, [NaN, 0, 0, 4], 0, 0, 'reluGrad');
  });

  it('rejects shapes that do not broadcast with a RangeError', () => {
    const t = (shape: number[]) => cpu(new Float32Array(numel(shape)), shape);
    for (const [a, b] of [[[3, 4], [5]], [[2, 3], [3, 2]], [[2, 3, 4], [2, 4]], [[4, 1], [2, 3]]] as [number[], number[]][]) {
      expect(broadcastShape(a, b)).toBeNull(); // the reference agrees that they do not
      expect(() => native.ops.binary(t(a), t(b), 'add', 0), `${a} with ${b}`).toThrow(RangeError);
    }
  });

  it('tensors stop at rank 6, the most a broadcast handles: rank 7 is a RangeError', () => {
    expect(rank6).toBe(true);
    expect(() => cpu(new Float32Array(2), [1, 1, 1, 1, 1, 1, 2])).toThrow(/at most 6 dimensions, got 7/);
  });

  it('rejects non-float32 operands with a TypeError and an unknown op with a RangeError', () => {
    const f = cpu(new Float32Array(4), [4]);
    expect(() => native.ops.binary(cpu(new Int32Array(4), [4]), f, 'add', 0)).toThrow(TypeError);
    expect(() => native.ops.binary(f, cpu(new Uint8Array(4), [4]), 'add', 0)).toThrow(TypeError);
    expect(() => native.ops.binary(f, cpu(new Int32Array(1), [1]), 'mul', 0)).toThrow(TypeError);
    expect(() => native.ops.binary(f, f, 'atan2' as NativeBinaryOp, 0)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------

type ReduceName = 'sum' | 'mean' | 'max' | 'min';

/** Reduction of x [shape] along dim (every element when null) in float64, with |x| sums for tolerances. */
function reduceRef(x: ArrayLike<number>, shape: number[], op: ReduceName, dim: number | null) {
  let outer = 1, len = numel(shape), inner = 1;
  if (dim !== null) {
    const d = dim < 0 ? dim + shape.length : dim;
    len = shape[d];
    outer = numel(shape.slice(0, d));
    inner = numel(shape.slice(d + 1));
  }
  const out = new Float64Array(outer * inner), mag = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = op === 'max' ? -Infinity : op === 'min' ? Infinity : 0, abs = 0;
      for (let k = 0; k < len; k++) {
        const v = x[(o * len + k) * inner + i];
        abs += Math.abs(v);
        if (op === 'sum' || op === 'mean') acc += v;
        else if (Number.isNaN(v) || Number.isNaN(acc)) acc = NaN;
        else acc = op === 'max' ? Math.max(acc, v) : Math.min(acc, v);
      }
      out[o * inner + i] = op === 'mean' ? acc / len : acc;
      mag[o * inner + i] = op === 'mean' ? abs / len : abs;
    }
  }
  return { out, mag };
}

function expectedShape(shape: number[], dim: number | null, keepdim: boolean): number[] {
  if (dim === null) return keepdim ? shape.map(() => 1) : [];
  const d = dim < 0 ? dim + shape.length : dim;
  return keepdim ? shape.map((s, i) => (i === d ? 1 : s)) : shape.filter((_, i) => i !== d);
}

/** Sums in float32 carry rounding of ~len·2⁻²⁴·Σ|x| at worst; 1e-6·Σ|x| covers the lengths used here. */
function checkReduce(x: Float32Array, shape: number[], op: ReduceName, dim: number | null, keepdim: boolean) {
  const out = native.ops.reduce(cpu(x, shape), op, dim, keepdim);
  expect(out.shape).toEqual(expectedShape(shape, dim, keepdim));
  const { out: ref, mag } = reduceRef(x, shape, op, dim);
  const got = f32(out);
  expect(got.length).toBe(ref.length);
  const bad: string[] = [];
  for (let i = 0; i < ref.length && bad.length < 5; i++) {
    const tol = op === 'sum' || op === 'mean' ? 1e-6 * mag[i] + 1e-30 : 0;
    const ok = Number.isNaN(ref[i]) ? Number.isNaN(got[i]) : Math.abs(got[i] - ref[i]) <= tol;
    if (!ok) bad.push(`[${i}] got ${got[i]}, expected ${ref[i]} (tol ${tol})`);
  }
  expect(bad, `${op} dim=${dim} keepdim=${keepdim} of ${JSON.stringify(shape)}`).toEqual([]);
}

describe('reduce', () => {
  const ops: ReduceName[] = ['sum', 'mean', 'max', 'min'];
  const shape = [4, 5, 6];
  const x = randomArray(numel(shape), 77, -2, 2);

  for (const op of ops) {
    for (const dim of [0, 1, 2, -1, -2, -3]) {
      it(`${op} of [4,5,6] along dim ${dim}, keepdim true and false`, () => {
        checkReduce(x, shape, op, dim, true);
        checkReduce(x, shape, op, dim, false);
      });
    }
    it(`${op} of every element (dim null): shape [] or all ones with keepdim`, () => {
      checkReduce(x, shape, op, null, false);
      checkReduce(x, shape, op, null, true);
      checkReduce(x.subarray(0, 7), [7], op, null, false);
    });
    it(`${op} with a large inner size (the column path) and inner 1`, () => {
      const cases: [number[], number][] = [
        [[3, 7, 40], 1], [[50, 33], 0], [[1000, 37], 0], [[2, 300, 64], 1], [[16, 16], 0], [[3, 5, 17], 1],
        [[7, 300], 1], [[5000], 0], [[3000, 4], 1], [[2, 3, 15], 1], [[4, 9, 31], 1], [[11, 19], 0],
      ];
      cases.forEach(([s, d], i) => {
        const data = randomArray(numel(s), 300 + i, -3, 3);
        checkReduce(data, s, op, d, false);
        checkReduce(data, s, op, d, true);
      });
    });
  }

  it('is reproducible: the same input gives identical bits twice', () => {
    const s = [64, 1000, 20];
    const data = randomArray(numel(s), 5, -1, 1);
    const t = cpu(data, s);
    for (const [op, dim] of [['sum', 1], ['mean', 1], ['sum', 0], ['sum', 2], ['sum', null], ['mean', null]] as [ReduceName, number | null][]) {
      const first = f32(native.ops.reduce(t, op, dim, false));
      const second = f32(native.ops.reduce(t, op, dim, false));
      expect(bits(second), `${op} dim=${dim}`).toEqual(bits(first));
    }
    checkReduce(data, s, 'sum', 1, false);
  });

  it('max and min propagate NaN (row path and column path)', () => {
    for (const s of [[4, 5, 6], [3, 7, 40]]) {
      const data = randomArray(numel(s), 9, -2, 2);
      const n = data.length;
      for (const i of [0, 7, Math.floor(n / 2), n - 1]) data[i] = NaN;
      for (const op of ['max', 'min'] as ReduceName[]) {
        for (const dim of [0, 1, 2, null]) {
          checkReduce(data, s, op, dim, false);
          const got = f32(native.ops.reduce(cpu(data, s), op, dim, false));
          expect(Array.from(got).some(Number.isNaN), `${op} dim=${dim}`).toBe(true);
        }
      }
    }
  });

  it('max and min of a line that is all infinities', () => {
    const data = Float32Array.from([-Infinity, -Infinity, Infinity, Infinity, 1, -Infinity]);
    expect(Array.from(f32(native.ops.reduce(cpu(data, [3, 2]), 'max', 1, false)))).toEqual([-Infinity, Infinity, 1]);
    expect(Array.from(f32(native.ops.reduce(cpu(data, [3, 2]), 'min', 1, false)))).toEqual([-Infinity, Infinity, -Infinity]);
  });

  it('rejects a dim out of range and an unknown op with a RangeError', () => {
    const t = cpu(x, shape);
    for (const dim of [3, -4, 100]) expect(() => native.ops.reduce(t, 'sum', dim, false), `dim ${dim}`).toThrow(RangeError);
    expect(() => native.ops.reduce(t, 'prod' as ReduceName, 0, false)).toThrow(RangeError);
    expect(() => native.ops.reduce(cpu(new Int32Array(4), [4]), 'sum', 0, false)).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------------

function softmaxRef(x: ArrayLike<number>, rows: number, cols: number) {
  const p = new Float64Array(rows * cols), lp = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let c = 0; c < cols; c++) mx = Math.max(mx, x[r * cols + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c] - mx);
    for (let c = 0; c < cols; c++) {
      p[r * cols + c] = Math.exp(x[r * cols + c] - mx) / s;
      lp[r * cols + c] = x[r * cols + c] - mx - Math.log(s);
    }
  }
  return { p, lp };
}

describe('softmax, logSoftmax, argmax', () => {
  const check = (x: Float32Array, rows: number, cols: number) => {
    const ref = softmaxRef(x, rows, cols);
    const p = native.ops.softmax(cpu(x, [rows, cols]));
    const lp = native.ops.logSoftmax(cpu(x, [rows, cols]));
    expect(p.shape).toEqual([rows, cols]);
    expect(lp.shape).toEqual([rows, cols]);
    expectClose(f32(p), ref.p, 1e-5, 1e-7, 'softmax');
    expectClose(f32(lp), ref.lp, 1e-5, 1e-6, 'logSoftmax');
  };

  for (const [rows, cols] of [[37, 10], [3, 1000], [5, 1], [100, 7], [1, 3]]) {
    it(`rows of [${rows}, ${cols}] match float64`, () => check(randomArray(rows * cols, rows + cols, -8, 8), rows, cols));
  }

  it('is stable for large-magnitude rows', () => {
    const rows = [
      [1e4, 1e4 - 1, 9990, -1e4],
      [-1e4, -1e4 + 2, -1e4 + 1, -1e4 - 3],
      [88, 89, 90, 91],
      [-120, -100, -110, -105],
      [1e38, 0, -1e38, 1e38], // log p of -1e38 is -2e38: still a float32
      [1e30, 1e30, 1e30, 1e30],
    ];
    const x = Float32Array.from(rows.flat());
    check(x, rows.length, 4);
    for (const v of f32(native.ops.softmax(cpu(x, [rows.length, 4])))) expect(Number.isFinite(v)).toBe(true);
    for (const v of f32(native.ops.logSoftmax(cpu(x, [rows.length, 4])))) expect(Number.isNaN(v)).toBe(false);
  });

  it('a NaN makes its own row NaN and no other', () => {
    const x = Float32Array.from([1, NaN, 2, NaN, 1, 2, 0.5, -1, 3]);
    const ref = [NaN, NaN, NaN, NaN, NaN, NaN, ...softmaxRef([0.5, -1, 3], 1, 3).p];
    expectClose(f32(native.ops.softmax(cpu(x, [3, 3]))), ref, 1e-6, 0, 'softmax');
    const lref = [NaN, NaN, NaN, NaN, NaN, NaN, ...softmaxRef([0.5, -1, 3], 1, 3).lp];
    expectClose(f32(native.ops.logSoftmax(cpu(x, [3, 3]))), lref, 1e-6, 0, 'logSoftmax');
  });

  it('logSoftmax rejects a non-2-D input', () => {
    expect(() => native.ops.logSoftmax(cpu(new Float32Array(8), [2, 2, 2]))).toThrow(RangeError);
    expect(() => native.ops.softmax(cpu(new Float32Array(8), [8]))).toThrow(RangeError);
  });

  it('argmax gives the first index of each row maximum', () => {
    const x = Float32Array.from([
      1, 3, 3, 2,
      5, 5, 5, 5,
      -1, -2, -3, -4,
      -Infinity, -Infinity, -Infinity, -1,
      0, 0, 7, 7,
      NaN, 1, 9, 2,
      0, NaN, 7, NaN,
    ]);
    const out = native.ops.argmax(cpu(x, [7, 4]));
    expect(out.shape).toEqual([7]);
    expect(out.dtype).toBe('int32');
    expect(Array.from(out.toArray())).toEqual([1, 0, 0, 3, 2, 0, 1]);
  });

  it('argmax matches a first-maximum reference on random rows with ties', () => {
    const [B, C] = [300, 37];
    const x = randomArray(B * C, 12, -4, 4).map((v) => Math.round(v * 2) / 2);
    const ref = Array.from({ length: B }, (_, r) => {
      let best = 0;
      for (let c = 1; c < C; c++) if (x[r * C + c] > x[r * C + best]) best = c;
      return best;
    });
    expect(Array.from(native.ops.argmax(cpu(x, [B, C])).toArray())).toEqual(ref);
  });
});

// ---------------------------------------------------------------------------------------------

function mseRef(p: ArrayLike<number>, t: ArrayLike<number>) {
  const n = p.length;
  let s = 0;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s += (p[i] - t[i]) ** 2;
    d[i] = (2 * (p[i] - t[i])) / n;
  }
  return { loss: s / n, dpred: d };
}

describe('mse', () => {
  for (const shape of [[7], [3, 5], [4096 * 5 + 17], [129, 130], [4096]]) {
    it(`loss and dpred of ${JSON.stringify(shape)} match float64`, () => {
      const n = numel(shape);
      const p = randomArray(n, n, -3, 3), t = randomArray(n, n + 1, -3, 3);
      for (let i = 0; i < n; i += 11) t[i] = p[i]; // exact zeros in the gradient
      const ref = mseRef(p, t);
      const out = native.ops.mse(cpu(p, shape), cpu(t, shape), true);
      expect(out.loss.shape).toEqual([]);
      const loss = out.loss.toArray()[0];
      expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(1e-6);
      expect(out.dpred!.shape).toEqual(shape);
      expectClose(f32(out.dpred!), ref.dpred, 1e-6, 1e-30, 'dpred');
      const noGrad = native.ops.mse(cpu(p, shape), cpu(t, shape), false);
      expect(noGrad.dpred).toBeNull();
      expect(noGrad.loss.toArray()[0]).toBe(loss);
    });
  }

  it('is zero for identical inputs and exact for a known case', () => {
    const p = Float32Array.from([1, 2, 3, 4]);
    expect(native.ops.mse(cpu(p, [4]), cpu(p, [4]), false).loss.toArray()[0]).toBe(0);
    const out = native.ops.mse(cpu(p, [4]), cpu(Float32Array.from([0, 2, 5, 4]), [4]), true);
    expect(out.loss.toArray()[0]).toBe(1.25); // (1 + 0 + 4 + 0) / 4
    expect(Array.from(out.dpred!.toArray())).toEqual([0.5, 0, -1, 0]);
  });

  it('rejects a shape mismatch with a RangeError, and non-float32 input with a TypeError', () => {
    const t = (shape: number[]) => cpu(new Float32Array(numel(shape)), shape);
    expect(() => native.ops.mse(t([3, 4]), t([4, 3]), true)).toThrow(RangeError);
    expect(() => native.ops.mse(t([12]), t([3, 4]), false)).toThrow(RangeError);
    expect(() => native.ops.mse(t([5]), t([6]), false)).toThrow(RangeError);
    expect(() => native.ops.mse(t([4]), cpu(new Int32Array(4), [4]), false)).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------------

describe('gatherRows', () => {
  it('picks rows by index, repeats included', () => {
    const [N, C] = [10, 7];
    const src = randomArray(N * C, 3, -5, 5);
    const idx = Int32Array.from([3, 0, 9, 3, 5]);
    const out = native.ops.gatherRows(cpu(src, [N, C]), idx);
    expect(out.shape).toEqual([idx.length, C]);
    const ref = Array.from(idx).flatMap((r) => Array.from(src.subarray(r * C, r * C + C)));
    expect(bits(f32(out))).toEqual(bits(Float32Array.from(ref)));
  });

  it('gathers many rows of a wide source', () => {
    const [N, C, B] = [300, 129, 1000];
    const src = randomArray(N * C, 4);
    const idx = Int32Array.from({ length: B }, (_, i) => (i * 37 + 11) % N);
    const out = f32(native.ops.gatherRows(cpu(src, [N, C]), idx));
    for (let b = 0; b < B; b += 97) {
      expect(Array.from(out.subarray(b * C, b * C + C))).toEqual(Array.from(src.subarray(idx[b] * C, idx[b] * C + C)));
    }
    expect(Array.from(out.subarray((B - 1) * C))).toEqual(Array.from(src.subarray(idx[B - 1] * C, idx[B - 1] * C + C)));
  });

  it('rejects indices out of range with a RangeError', () => {
    const src = cpu(new Float32Array(10 * 3), [10, 3]);
    expect(() => native.ops.gatherRows(src, Int32Array.from([0, 10]))).toThrow(RangeError);
    expect(() => native.ops.gatherRows(src, Int32Array.from([-1]))).toThrow(RangeError);
    expect(() => native.ops.gatherRows(src, new Int32Array(0))).toThrow(RangeError);
    expect(() => native.ops.gatherRows(src, Float32Array.from([1]) as unknown as Int32Array)).toThrow(TypeError);
    expect(() => native.ops.gatherRows(cpu(new Float32Array(8), [2, 2, 2]), Int32Array.from([0]))).toThrow(RangeError);
    expect(() => native.ops.gatherRows(native.Tensor.zeros([4], 'uint8', 'cpu'), Int32Array.from([0]))).toThrow(TypeError);
  });

  it('gathers [N] vectors and int32 values bit for bit (labels)', () => {
    const labels = new native.Tensor(Int32Array.from([7, -1, 2147483647, -2147483648, 0]), [5], 'cpu');
    const picked = native.ops.gatherRows(labels, Int32Array.from([3, 2, 2, 0, 1]));
    expect(picked.dtype).toBe('int32');
    expect(picked.shape).toEqual([5]);
    expect(Array.from(picked.toArray())).toEqual([-2147483648, 2147483647, 2147483647, 7, -1]);
    // Bit patterns that are NaNs as floats survive too.
    const nanBits = new native.Tensor(Int32Array.from([0x7fc00001, 0xff800001 | 0]), [2, 1], 'cpu');
    expect(Array.from(native.ops.gatherRows(nanBits, Int32Array.from([1, 0])).toArray())).toEqual([0xff800001 | 0, 0x7fc00001]);
  });
});
