// Tensor ops with autograd against float64 JavaScript references: the forward values of every op,
// finite-difference gradients of every differentiable one (the numeric gradient comes from the
// float64 reference, so float32 noise does not enter it), errors, and numbers as operands.
import { describe, expect, it } from 'vitest';
import { crossEntropy, tensor, type Tensor } from '../dist/index.js';
import { erf, randomArray, softmaxXentRef } from './helpers/reference';

// ---------------------------------------------------------------------------------------------
// float64 reference math (independent of tinynn)

interface Arr {
  data: Float64Array;
  shape: number[];
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const arr = (data: ArrayLike<number>, shape: readonly number[]): Arr => ({ data: Float64Array.from(data), shape: [...shape] });

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = step;
    step *= shape[d];
  }
  return s;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    const x = a[d - (rank - a.length)] ?? 1, y = b[d - (rank - b.length)] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`reference: [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

// The element of a (broadcast) input read for output index `idx`, numpy rules.
function broadcastOffset(idx: readonly number[], shape: readonly number[], strides: readonly number[]): number {
  const lead = idx.length - shape.length;
  let off = 0;
  for (let d = 0; d < shape.length; d++) if (shape[d] !== 1) off += idx[lead + d] * strides[d];
  return off;
}

function binaryRef(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const shape = broadcastShape(a.shape, b.shape);
  const sa = stridesOf(a.shape), sb = stridesOf(b.shape);
  const out = new Float64Array(numel(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    out[i] = f(a.data[broadcastOffset(idx, a.shape, sa)], b.data[broadcastOffset(idx, b.shape, sb)]);
  }
  return { data: out, shape };
}

const unaryRef = (a: Arr, f: (x: number) => number): Arr => ({ data: a.data.map(f), shape: [...a.shape] });
const normDim = (dim: number, rank: number): number => (dim < 0 ? dim + rank : dim);

// Calls f on every lane along `dim` (the values at fixed other indices), writing what it returns.
function mapLanes(a: Arr, dim: number, f: (lane: number[]) => number[]): Arr {
  const d = normDim(dim, a.shape.length);
  const outer = numel(a.shape.slice(0, d)), len = a.shape[d], inner = numel(a.shape.slice(d + 1));
  const out = new Float64Array(a.data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const lane: number[] = [];
      for (let k = 0; k < len; k++) lane.push(a.data[(o * len + k) * inner + i]);
      f(lane).forEach((v, k) => { out[(o * len + k) * inner + i] = v; });
    }
  }
  return { data: out, shape: [...a.shape] };
}

// f of every element (dim null: shape [] or all ones with keepdim), or of each lane along dim.
function reduceRef(a: Arr, dim: number | null, keepdim: boolean, f: (lane: number[]) => number): Arr {
  if (dim === null) return { data: Float64Array.of(f(Array.from(a.data))), shape: keepdim ? a.shape.map(() => 1) : [] };
  const d = normDim(dim, a.shape.length);
  const outer = numel(a.shape.slice(0, d)), len = a.shape[d], inner = numel(a.shape.slice(d + 1));
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const lane: number[] = [];
      for (let k = 0; k < len; k++) lane.push(a.data[(o * len + k) * inner + i]);
      out[o * inner + i] = f(lane);
    }
  }
  const shape = keepdim ? a.shape.map((s, i) => (i === d ? 1 : s)) : a.shape.filter((_, i) => i !== d);
  return { data: out, shape };
}

const laneSum = (v: number[]) => v.reduce((s, x) => s + x, 0);
const laneMean = (v: number[]) => laneSum(v) / v.length;
const laneMax = (v: number[]) => Math.max(...v);
const laneMin = (v: number[]) => Math.min(...v);
const reducers = { sum: laneSum, mean: laneMean, max: laneMax, min: laneMin };

function softmaxLane(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = laneSum(e);
  return e.map((x) => x / s);
}
function logSoftmaxLane(v: number[]): number[] {
  const m = Math.max(...v);
  const lse = m + Math.log(laneSum(v.map((x) => Math.exp(x - m))));
  return v.map((x) => x - lse);
}

// [M,K]·[K,N], [B,M,K]·[B,K,N], and a 2-D operand shared over the batch of a 3-D one.
function matmulRef(a: Arr, b: Arr): Arr {
  const [M, K] = a.shape.slice(-2), [K2, N] = b.shape.slice(-2);
  if (K !== K2) throw new Error('reference: inner sizes differ');
  const batch = a.shape.length === 3 ? a.shape[0] : b.shape.length === 3 ? b.shape[0] : 0;
  const out = new Float64Array(Math.max(batch, 1) * M * N);
  for (let bi = 0; bi < Math.max(batch, 1); bi++) {
    const ao = a.shape.length === 3 ? bi * M * K : 0, bo = b.shape.length === 3 ? bi * K * N : 0;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a.data[ao + m * K + k] * b.data[bo + k * N + n];
        out[bi * M * N + m * N + n] = acc;
      }
    }
  }
  return { data: out, shape: batch ? [batch, M, N] : [M, N] };
}

function permuteRef(a: Arr, dims: readonly number[]): Arr {
  const order = dims.map((d) => normDim(d, a.shape.length));
  const shape = order.map((d) => a.shape[d]);
  const sa = stridesOf(a.shape);
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    let off = 0;
    idx.forEach((v, k) => { off += v * sa[order[k]]; });
    out[i] = a.data[off];
  }
  return { data: out, shape };
}

function transposeRef(a: Arr, d0: number, d1: number): Arr {
  const x = normDim(d0, a.shape.length), y = normDim(d1, a.shape.length);
  return permuteRef(a, a.shape.map((_, i) => (i === x ? y : i === y ? x : i)));
}

function reshapeRef(a: Arr, shape: readonly number[]): Arr {
  const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
  return { data: a.data, shape: shape.map((d) => (d === -1 ? a.data.length / known : d)) };
}

function argmaxRef(a: Arr, dim: number, keepdim: boolean): Arr {
  return reduceRef(a, dim, keepdim, (lane) => lane.indexOf(Math.max(...lane)));
}

const geluRef = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
const sigmoidRef = (x: number): number => 1 / (1 + Math.exp(-x));

// ---------------------------------------------------------------------------------------------
// inputs: deterministic, odd shapes, kept away from the points where an op has no derivative

let seed = 100;
const nextSeed = (): number => seed++;

/** Uniform in [lo, hi). */
function uniform(shape: number[], lo = -1, hi = 1): Float32Array {
  return randomArray(numel(shape), nextSeed(), lo, hi);
}
/** Magnitudes in [lo, hi), random signs: nowhere near 0. */
function away(shape: number[], lo: number, hi: number): Float32Array {
  const m = randomArray(numel(shape), nextSeed(), lo, hi), s = randomArray(numel(shape), nextSeed());
  return m.map((v, i) => (s[i] < 0 ? -v : v));
}
/** Distinct values, at least 1/n apart (no ties for max/min), in a scrambled order. */
function distinct(shape: number[]): Float32Array {
  const n = numel(shape);
  const keys = randomArray(n, nextSeed());
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b]);
  const out = new Float32Array(n);
  order.forEach((rank, i) => { out[i] = (rank - n / 2) / n * 2 + 0.1; });
  return out;
}
/** Uniform in [lo, hi) with every value at least `margin` from each of `points`. */
function avoiding(shape: number[], points: number[], margin: number, lo = -1, hi = 1): Float32Array {
  return uniform(shape, lo, hi).map((v) => {
    for (const p of points) if (Math.abs(v - p) < margin) return v < p ? p - margin - 0.01 : p + margin + 0.01;
    return v;
  });
}
/** Small integers (0, 1, 2) as floats: many ties. */
function ints(shape: number[]): Float32Array {
  return uniform(shape, 0, 3).map(Math.floor);
}

// ---------------------------------------------------------------------------------------------
// checking

/** Forward tolerances: one rounding (arithmetic), a few accumulated (sums), libm (transcendental). */
const TOL = {
  exact: { rtol: 1e-6, atol: 1e-12 },
  accum: { rtol: 1e-6, atol: 3e-6 },
  trans: { rtol: 1e-5, atol: 1e-6 },
} as const;
type Tol = keyof typeof TOL;

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  expect(got.length, `${what}: element count`).toBe(want.length);
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) / (rtol * Math.abs(want[i]) + atol);
    if (!(err <= worst)) { // NaN-aware: a NaN becomes the worst
      worst = err;
      at = i;
    }
  }
  expect(worst, `${what}: element ${at}: got ${got[at]}, want ${want[at]}`).toBeLessThanOrEqual(1);
}

interface Input {
  shape: number[];
  data: Float32Array;
  /** false: the tensor does not require a gradient (and must get none). */
  grad?: boolean;
}

interface Case {
  name: string;
  inputs: Input[];
  op: (t: Tensor[]) => Tensor;
  ref: (a: Arr[]) => Arr;
  tol: Tol;
  /** false: forward only. */
  differentiable?: boolean;
}

const leaf = (i: Input, requiresGrad = i.grad !== false): Tensor => tensor(i.data, { shape: i.shape, requiresGrad });

function checkForward(c: Case): void {
  const out = c.op(c.inputs.map((i) => leaf(i)));
  const want = c.ref(c.inputs.map((i) => arr(i.data, i.shape)));
  expect([...out.shape], `${c.name}: shape`).toEqual(want.shape);
  expect(out.dtype).toBe('float32');
  const { rtol, atol } = TOL[c.tol];
  expectClose(out.toArray(), want.data, rtol, atol, c.name);
}

/**
 * loss = sum(op(inputs) · W) through tinynn's autograd; each input's gradient against central
 * differences of the same loss evaluated in float64 with the reference op.
 */
function checkGradients(c: Case): void {
  const ts = c.inputs.map((i) => leaf(i));
  const out = c.op(ts);
  const xs = c.inputs.map((i) => arr(i.data, i.shape));
  const y0 = c.ref(xs);
  expect([...out.shape], `${c.name}: shape`).toEqual(y0.shape);
  const w = randomArray(y0.data.length, 7000 + y0.data.length, -1, 1);
  const lossOf = (as: Arr[]): number => {
    const y = c.ref(as);
    let s = 0;
    for (let i = 0; i < y.data.length; i++) s += y.data[i] * w[i];
    return s;
  };
  const loss = out.mul(tensor(w, { shape: y0.shape.length ? y0.shape : [1] })).sum();
  const l0 = lossOf(xs);
  expect(Math.abs(loss.item() - l0), `${c.name}: loss ${loss.item()} vs ${l0}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(l0)));
  loss.backward();
  const h = 1e-6;
  c.inputs.forEach((input, k) => {
    const g = ts[k].grad;
    if (input.grad === false) {
      expect(g, `${c.name}: input ${k} requires no gradient`).toBeNull();
      return;
    }
    expect(g, `${c.name}: input ${k} has a gradient`).not.toBeNull();
    expect([...g!.shape], `${c.name}: gradient ${k} shape`).toEqual(input.shape);
    const x = xs[k].data;
    const numeric = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const orig = x[j];
      x[j] = orig + h;
      const up = lossOf(xs);
      x[j] = orig - h;
      const down = lossOf(xs);
      x[j] = orig;
      numeric[j] = (up - down) / (2 * h);
    }
    const scale = Math.max(1, ...Array.from(numeric, Math.abs));
    expectClose(g!.toArray(), numeric, 1e-4, 1e-5 * scale, `${c.name}: d loss / d input ${k}`);
  });
}

// ---------------------------------------------------------------------------------------------
// the cases

const binaryOps: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
  ['add', (a, b) => a.add(b), (x, y) => x + y],
  ['sub', (a, b) => a.sub(b), (x, y) => x - y],
  ['mul', (a, b) => a.mul(b), (x, y) => x * y],
  ['div', (a, b) => a.div(b), (x, y) => x / y],
];
const binaryShapes: [number[], number[]][] = [
  [[3, 5], [3, 5]],
  [[7], [7]],
  [[3, 4], [4]],
  [[3, 1], [1, 4]],
  [[2, 1, 4], [3, 1]],
  [[4], [2, 3, 4]],
  [[2, 3, 4], [1]],
  [[1], [3, 5]],
];

const cases: Case[] = [];
const shapeStr = (s: readonly number[]): string => `[${s.join(',')}]`;

for (const [name, op, f] of binaryOps) {
  for (const [sa, sb] of binaryShapes) {
    cases.push({
      name: `${name} ${shapeStr(sa)} ${shapeStr(sb)}`,
      inputs: [{ shape: sa, data: uniform(sa) }, { shape: sb, data: name === 'div' ? away(sb, 0.5, 2) : uniform(sb) }],
      op: ([a, b]) => op(a, b),
      ref: ([a, b]) => binaryRef(a, b, f),
      tol: 'exact',
    });
  }
}
// An operand that requires no gradient gets none; the other still gets its own.
cases.push({
  name: 'mul [3,4] by a constant [4]',
  inputs: [{ shape: [3, 4], data: uniform([3, 4]) }, { shape: [4], data: uniform([4]), grad: false }],
  op: ([a, b]) => a.mul(b),
  ref: ([a, b]) => binaryRef(a, b, (x, y) => x * y),
  tol: 'exact',
});
cases.push({
  name: 'div a constant [3,1] by [2,1,4]',
  inputs: [{ shape: [3, 1], data: uniform([3, 1]), grad: false }, { shape: [2, 1, 4], data: away([2, 1, 4], 0.5, 2) }],
  op: ([a, b]) => a.div(b),
  ref: ([a, b]) => binaryRef(a, b, (x, y) => x / y),
  tol: 'exact',
});

function unary(name: string, shape: number[], data: Float32Array, op: (t: Tensor) => Tensor, f: (x: number) => number, tol: Tol): void {
  cases.push({ name: `${name} ${shapeStr(shape)}`, inputs: [{ shape, data }], op: ([x]) => op(x), ref: ([x]) => unaryRef(x, f), tol });
}
unary('neg', [3, 5], uniform([3, 5]), (x) => x.neg(), (x) => -x, 'exact');
unary('neg', [7], uniform([7]), (x) => x.neg(), (x) => -x, 'exact');
unary('pow(2)', [2, 3, 4], uniform([2, 3, 4], -2, 2), (x) => x.pow(2), (x) => x ** 2, 'trans');
unary('pow(3)', [7], uniform([7], -2, 2), (x) => x.pow(3), (x) => x ** 3, 'trans');
unary('pow(0.5)', [3, 5], uniform([3, 5], 0.2, 3), (x) => x.pow(0.5), Math.sqrt, 'trans');
unary('pow(1.5)', [7], uniform([7], 0.2, 3), (x) => x.pow(1.5), (x) => x ** 1.5, 'trans');
unary('pow(-1)', [3, 5], away([3, 5], 0.5, 2), (x) => x.pow(-1), (x) => 1 / x, 'trans');
unary('pow(-2)', [2, 3, 4], away([2, 3, 4], 0.5, 2), (x) => x.pow(-2), (x) => x ** -2, 'trans');
unary('pow(0)', [7], uniform([7]), (x) => x.pow(0), () => 1, 'exact');
unary('exp', [2, 3, 4], uniform([2, 3, 4], -3, 3), (x) => x.exp(), Math.exp, 'trans');
unary('exp', [7], uniform([7], -3, 3), (x) => x.exp(), Math.exp, 'trans');
unary('log', [3, 5], uniform([3, 5], 0.1, 5), (x) => x.log(), Math.log, 'trans');
unary('log', [2, 3, 4], uniform([2, 3, 4], 0.1, 5), (x) => x.log(), Math.log, 'trans');
unary('sqrt', [7], uniform([7], 0.1, 5), (x) => x.sqrt(), Math.sqrt, 'trans');
unary('sqrt', [2, 3, 4], uniform([2, 3, 4], 0.1, 5), (x) => x.sqrt(), Math.sqrt, 'trans');
unary('abs', [2, 3, 4], away([2, 3, 4], 0.05, 1), (x) => x.abs(), Math.abs, 'exact');
unary('abs', [7], away([7], 0.05, 1), (x) => x.abs(), Math.abs, 'exact');
unary('clamp(-0.5, 0.5)', [3, 5], avoiding([3, 5], [-0.5, 0.5], 0.02), (x) => x.clamp(-0.5, 0.5),
  (x) => Math.min(Math.max(x, -0.5), 0.5), 'exact');
unary('clamp(-0.2)', [2, 3, 4], avoiding([2, 3, 4], [-0.2], 0.02), (x) => x.clamp(-0.2), (x) => Math.max(x, -0.2), 'exact');
unary('clamp(null, 0.3)', [7], avoiding([7], [0.3], 0.02), (x) => x.clamp(null, 0.3), (x) => Math.min(x, 0.3), 'exact');
unary('clamp(undefined, 0.1)', [3, 5], avoiding([3, 5], [0.1], 0.02), (x) => x.clamp(undefined, 0.1), (x) => Math.min(x, 0.1), 'exact');
unary('relu', [2, 3, 4], away([2, 3, 4], 0.05, 1), (x) => x.relu(), (x) => Math.max(x, 0), 'exact');
unary('relu', [7], away([7], 0.05, 1), (x) => x.relu(), (x) => Math.max(x, 0), 'exact');
unary('leakyRelu(0.2)', [3, 5], away([3, 5], 0.05, 1), (x) => x.leakyRelu(0.2), (x) => (x > 0 ? x : 0.2 * x), 'exact');
unary('leakyRelu()', [2, 3, 4], away([2, 3, 4], 0.05, 1), (x) => x.leakyRelu(), (x) => (x > 0 ? x : 0.01 * x), 'exact');
unary('sigmoid', [3, 5], uniform([3, 5], -5, 5), (x) => x.sigmoid(), sigmoidRef, 'trans');
unary('sigmoid', [7], uniform([7], -5, 5), (x) => x.sigmoid(), sigmoidRef, 'trans');
unary('tanh', [2, 3, 4], uniform([2, 3, 4], -3, 3), (x) => x.tanh(), Math.tanh, 'trans');
unary('tanh', [7], uniform([7], -3, 3), (x) => x.tanh(), Math.tanh, 'trans');
unary('gelu', [3, 5], uniform([3, 5], -4, 4), (x) => x.gelu(), geluRef, 'trans');
unary('gelu', [2, 3, 4], uniform([2, 3, 4], -3, 3), (x) => x.gelu(), geluRef, 'trans');

// The softmax family along every dim, positive and negative.
for (const [shape, dims] of [[[2, 3, 4], [0, 1, 2, -1, -2, -3]], [[3, 5], [0, -1]], [[7], [0, -1]]] as [number[], number[]][]) {
  for (const dim of dims) {
    cases.push({
      name: `softmax(${dim}) ${shapeStr(shape)}`,
      inputs: [{ shape, data: uniform(shape, -3, 3) }],
      op: ([x]) => x.softmax(dim),
      ref: ([x]) => mapLanes(x, dim, softmaxLane),
      tol: 'trans',
    });
    cases.push({
      name: `logSoftmax(${dim}) ${shapeStr(shape)}`,
      inputs: [{ shape, data: uniform(shape, -3, 3) }],
      op: ([x]) => x.logSoftmax(dim),
      ref: ([x]) => mapLanes(x, dim, logSoftmaxLane),
      tol: 'trans',
    });
  }
}
cases.push({
  name: 'softmax() default dim [3,5]',
  inputs: [{ shape: [3, 5], data: uniform([3, 5], -3, 3) }],
  op: ([x]) => x.softmax(),
  ref: ([x]) => mapLanes(x, -1, softmaxLane),
  tol: 'trans',
});

// Reductions: whole tensor and along dims, keepdim both ways; max/min on distinct values.
for (const name of ['sum', 'mean', 'max', 'min'] as const) {
  const plan: [number[], number | null, boolean][] = [
    [[2, 3, 4], null, false], [[2, 3, 4], null, true],
    [[2, 3, 4], 0, false], [[2, 3, 4], 0, true], [[2, 3, 4], 1, false], [[2, 3, 4], 1, true],
    [[2, 3, 4], 2, true], [[2, 3, 4], -1, false], [[2, 3, 4], -1, true], [[2, 3, 4], -3, false],
    [[3, 5], -2, true], [[3, 5], 1, false], [[7], 0, false], [[7], null, false],
  ];
  for (const [shape, dim, keepdim] of plan) {
    cases.push({
      name: `${name}(${dim}, keepdim=${keepdim}) ${shapeStr(shape)}`,
      inputs: [{ shape, data: name === 'max' || name === 'min' ? distinct(shape) : uniform(shape) }],
      op: ([x]) => x[name](dim, keepdim),
      ref: ([x]) => reduceRef(x, dim, keepdim, reducers[name]),
      tol: name === 'sum' || name === 'mean' ? 'accum' : 'exact',
    });
  }
  cases.push({
    name: `${name}() no arguments [3,5]`,
    inputs: [{ shape: [3, 5], data: name === 'max' || name === 'min' ? distinct([3, 5]) : uniform([3, 5]) }],
    op: ([x]) => x[name](),
    ref: ([x]) => reduceRef(x, null, false, reducers[name]),
    tol: name === 'sum' || name === 'mean' ? 'accum' : 'exact',
  });
}

// matmul: 2-D, batched, and a 2-D operand shared over the batch on either side.
for (const [sa, sb] of [
  [[3, 5], [5, 4]], [[1, 6], [6, 1]], [[4, 1], [1, 3]],
  [[2, 3, 4], [2, 4, 5]], [[2, 3, 4], [4, 5]], [[3, 4], [2, 4, 5]],
] as [number[], number[]][]) {
  cases.push({
    name: `matmul ${shapeStr(sa)} ${shapeStr(sb)}`,
    inputs: [{ shape: sa, data: uniform(sa) }, { shape: sb, data: uniform(sb) }],
    op: ([a, b]) => a.matmul(b),
    ref: ([a, b]) => matmulRef(a, b),
    tol: 'accum',
  });
}

// Shape ops.
function shapeCase(name: string, shape: number[], op: (x: Tensor) => Tensor, ref: (x: Arr) => Arr): void {
  cases.push({ name: `${name} ${shapeStr(shape)}`, inputs: [{ shape, data: uniform(shape) }], op: ([x]) => op(x), ref: ([x]) => ref(x), tol: 'exact' });
}
shapeCase('reshape(6, -1)', [2, 3, 4], (x) => x.reshape(6, -1), (x) => reshapeRef(x, [6, -1]));
shapeCase('reshape([4, 3, 2])', [2, 3, 4], (x) => x.reshape([4, 3, 2]), (x) => reshapeRef(x, [4, 3, 2]));
shapeCase('reshape(-1)', [3, 5], (x) => x.reshape(-1), (x) => reshapeRef(x, [-1]));
shapeCase('view(-1, 7)', [7], (x) => x.view(-1, 7), (x) => reshapeRef(x, [1, 7]));
shapeCase('view([2, -1, 2])', [2, 3, 4], (x) => x.view([2, -1, 2]), (x) => reshapeRef(x, [2, 6, 2]));
shapeCase('flatten()', [2, 3, 4], (x) => x.flatten(), (x) => reshapeRef(x, [24]));
shapeCase('flatten(1)', [2, 3, 4], (x) => x.flatten(1), (x) => reshapeRef(x, [2, 12]));
shapeCase('flatten(0, 1)', [2, 3, 4], (x) => x.flatten(0, 1), (x) => reshapeRef(x, [6, 4]));
shapeCase('flatten(-2, -1)', [2, 3, 4], (x) => x.flatten(-2, -1), (x) => reshapeRef(x, [2, 12]));
shapeCase('transpose(0, 2)', [2, 3, 4], (x) => x.transpose(0, 2), (x) => transposeRef(x, 0, 2));
shapeCase('transpose(-1, -2)', [2, 3, 4], (x) => x.transpose(-1, -2), (x) => transposeRef(x, -1, -2));
shapeCase('transpose(1, 1)', [3, 5], (x) => x.transpose(1, 1), (x) => x);
shapeCase('permute(2, 0, 1)', [2, 3, 4], (x) => x.permute(2, 0, 1), (x) => permuteRef(x, [2, 0, 1]));
shapeCase('permute(-2, -1, 0)', [2, 3, 4], (x) => x.permute(-2, -1, 0), (x) => permuteRef(x, [1, 2, 0]));
shapeCase('t()', [3, 5], (x) => x.t(), (x) => transposeRef(x, 0, 1));
shapeCase('clone()', [3, 5], (x) => x.clone(), (x) => x);
shapeCase('clone() then mul by itself', [2, 3, 4], (x) => x.clone().mul(x), (x) => unaryRef(x, (v) => v * v));
shapeCase('reshape-transpose-permute chain', [2, 3, 4],
  (x) => x.reshape(6, 4).t().reshape(2, -1, 3).permute(2, 0, 1).transpose(0, -1).flatten(1),
  (x) => reshapeRef(transposeRef(permuteRef(reshapeRef(transposeRef(reshapeRef(x, [6, 4]), 0, 1), [2, 4, 3]), [2, 0, 1]), 0, 2), [4, 6]));

// Composites: a tensor used twice (gradients accumulate at leaves and at intermediates).
cases.push({
  name: 'x·x + exp(x) (a leaf used three times)',
  inputs: [{ shape: [3, 5], data: uniform([3, 5]) }],
  op: ([x]) => x.mul(x).add(x.exp()),
  ref: ([x]) => unaryRef(x, (v) => v * v + Math.exp(v)),
  tol: 'trans',
});
cases.push({
  name: 'h = exp(x); h·h + h - sqrt(h) (an intermediate used four times)',
  inputs: [{ shape: [2, 3, 4], data: uniform([2, 3, 4]) }],
  op: ([x]) => {
    const h = x.exp();
    return h.mul(h).add(h).sub(h.sqrt());
  },
  ref: ([x]) => unaryRef(x, (v) => Math.exp(2 * v) + Math.exp(v) - Math.exp(v / 2)),
  tol: 'trans',
});
cases.push({
  name: '(tanh(x·w)·wᵀ + x)·sigmoid(x) (x and w used twice)',
  inputs: [{ shape: [3, 4], data: uniform([3, 4]) }, { shape: [4, 4], data: uniform([4, 4]) }],
  op: ([x, w]) => x.matmul(w).tanh().matmul(w.t()).add(x).mul(x.sigmoid()),
  ref: ([x, w]) => binaryRef(binaryRef(matmulRef(unaryRef(matmulRef(x, w), Math.tanh), transposeRef(w, 0, 1)), x, (a, b) => a + b),
    unaryRef(x, sigmoidRef), (a, b) => a * b),
  tol: 'trans',
});
cases.push({
  name: 'softmax(x, 0)·logSoftmax(x, -1) summed over dim 1 (a 3-D tensor, two paths)',
  inputs: [{ shape: [2, 3, 4], data: uniform([2, 3, 4], -2, 2) }],
  op: ([x]) => x.softmax(0).mul(x.logSoftmax(-1)).sum(1),
  ref: ([x]) => reduceRef(binaryRef(mapLanes(x, 0, softmaxLane), mapLanes(x, -1, logSoftmaxLane), (a, b) => a * b), 1, false, laneSum),
  tol: 'trans',
});
cases.push({
  name: 'mean(-1, keepdim) broadcast back: x - mean(x) over the last dim',
  inputs: [{ shape: [3, 5], data: uniform([3, 5]) }],
  op: ([x]) => x.sub(x.mean(-1, true)).pow(2),
  ref: ([x]) => unaryRef(binaryRef(x, reduceRef(x, -1, true, laneMean), (a, b) => a - b), (v) => v * v),
  tol: 'trans',
});

// Numbers as operands (and a one-element tensor standing in for one).
const numberCases: Case[] = [];
function numberCase(name: string, shape: number[], data: Float32Array, op: (t: Tensor) => Tensor, f: (x: number) => number): void {
  numberCases.push({ name: `${name} ${shapeStr(shape)}`, inputs: [{ shape, data }], op: ([x]) => op(x), ref: ([x]) => unaryRef(x, f), tol: 'exact' });
}
numberCase('add(2)', [3, 5], uniform([3, 5]), (x) => x.add(2), (x) => x + 2);
numberCase('add(-0.25)', [2, 3, 4], uniform([2, 3, 4]), (x) => x.add(-0.25), (x) => x - 0.25);
numberCase('sub(1)', [2, 3, 4], uniform([2, 3, 4]), (x) => x.sub(1), (x) => x - 1);
numberCase('sub(-3)', [7], uniform([7]), (x) => x.sub(-3), (x) => x + 3);
numberCase('mul(0.5)', [7], uniform([7]), (x) => x.mul(0.5), (x) => x * 0.5);
numberCase('mul(-3)', [3, 5], uniform([3, 5]), (x) => x.mul(-3), (x) => x * -3);
numberCase('div(4)', [3, 5], uniform([3, 5]), (x) => x.div(4), (x) => x / 4);
numberCase('div(-0.5)', [2, 3, 4], uniform([2, 3, 4]), (x) => x.div(-0.5), (x) => x / -0.5);
numberCase('add(2).mul(0.5).div(4).sub(1)', [2, 3, 4], uniform([2, 3, 4]), (x) => x.add(2).mul(0.5).div(4).sub(1), (x) => ((x + 2) * 0.5) / 4 - 1);

// ---------------------------------------------------------------------------------------------

describe('reference self-check', () => {
  it('erf and gelu match known values', () => {
    expect(Math.abs(erf(0.5) - 0.5204998778130465)).toBeLessThan(1e-15);
    expect(Math.abs(erf(1) - 0.8427007929497149)).toBeLessThan(1e-15);
    expect(Math.abs(erf(-2) + 0.9953222650189527)).toBeLessThan(1e-15);
    expect(Math.abs(erf(3.5) - 0.9999992569016276)).toBeLessThan(1e-15);
    expect(Math.abs(geluRef(1) - 0.8413447460685429)).toBeLessThan(1e-15);
  });
});

describe('forward of every op against a float64 reference', () => {
  for (const c of cases) it(c.name, () => checkForward(c));
});

describe('gradients against central differences of the float64 reference', () => {
  for (const c of cases) if (c.differentiable !== false) it(c.name, () => checkGradients(c));
});

describe('numbers as operands', () => {
  for (const c of numberCases) {
    it(`${c.name}: forward`, () => checkForward(c));
    it(`${c.name}: gradient`, () => checkGradients(c));
  }
  it('a number operand needs no gradient of its own and leaves the graph alone', () => {
    const x = tensor(uniform([3, 5]), { shape: [3, 5], requiresGrad: true });
    const y = x.mul(3).add(1).div(2).sub(0.5);
    expect(y.gradFn?.inputs.length).toBe(1);
    y.sum().backward();
    expectClose(x.grad!.toArray(), new Float64Array(15).fill(1.5), 1e-6, 1e-12, 'd/dx of (3x + 1)/2 - 0.5');
  });
  it('a [1] tensor operand gets the gradient summed over every element', () => {
    const x = tensor(uniform([2, 3, 4]), { shape: [2, 3, 4] });
    const c = tensor([0.75], { requiresGrad: true });
    x.mul(c).sum().backward();
    const want = Array.from(x.toArray()).reduce((s, v) => s + v, 0);
    expect(Math.abs(c.grad!.item() - want)).toBeLessThan(1e-5);
    expect([...c.grad!.shape]).toEqual([1]);
  });
});

describe('comparisons, argmax, detach: forward, no gradient', () => {
  const cmp: [string, (a: Tensor, b: Tensor | number) => Tensor, (x: number, y: number) => number][] = [
    ['eq', (a, b) => a.eq(b), (x, y) => (x === y ? 1 : 0)],
    ['gt', (a, b) => a.gt(b), (x, y) => (x > y ? 1 : 0)],
    ['lt', (a, b) => a.lt(b), (x, y) => (x < y ? 1 : 0)],
  ];
  for (const [name, op, f] of cmp) {
    for (const [sa, sb] of [[[3, 5], [3, 5]], [[3, 4], [4]], [[2, 1, 4], [3, 1]], [[7], [1]]] as [number[], number[]][]) {
      it(`${name} ${shapeStr(sa)} ${shapeStr(sb)}`, () => {
        // Small integers, drawn until the mask holds both outcomes.
        let a: Float32Array, b: Float32Array, want: Arr;
        do {
          a = ints(sa);
          b = ints(sb);
          want = binaryRef(arr(a, sa), arr(b, sb), f);
        } while (!(want.data.includes(1) && want.data.includes(0)));
        const ta = tensor(a, { shape: sa, requiresGrad: true });
        const out = op(ta, tensor(b, { shape: sb }));
        expect(out.dtype).toBe('float32');
        expect([...out.shape]).toEqual(want.shape);
        expect(Array.from(out.toArray())).toEqual(Array.from(want.data));
        expect(out.gradFn).toBeNull();
        expect(out.requiresGrad).toBe(false);
      });
    }
    it(`${name} against a number`, () => {
      const a = ints([2, 3, 4]);
      const out = op(tensor(a, { shape: [2, 3, 4], requiresGrad: true }), 1);
      expect(Array.from(out.toArray())).toEqual(Array.from(a, (v) => f(v, 1)));
      expect(out.gradFn).toBeNull();
    });
  }
  it('a mask used in a loss passes no gradient through itself', () => {
    const data = away([3, 5], 0.1, 1);
    const x = tensor(data, { shape: [3, 5], requiresGrad: true });
    x.gt(0).mul(x).sum().backward();
    expect(Array.from(x.grad!.toArray())).toEqual(Array.from(data, (v) => (v > 0 ? 1 : 0)));
  });

  for (const [shape, dim, keepdim] of [
    [[3, 5], -1, false], [[3, 5], 0, true], [[2, 3, 4], 1, false], [[2, 3, 4], -3, true], [[2, 3, 4], 2, true], [[7], 0, false],
  ] as [number[], number, boolean][]) {
    it(`argmax(${dim}, keepdim=${keepdim}) ${shapeStr(shape)}`, () => {
      const data = uniform(shape);
      const out = tensor(data, { shape }).argmax(dim, keepdim);
      const want = argmaxRef(arr(data, shape), dim, keepdim);
      expect(out.dtype).toBe('int32');
      expect([...out.shape]).toEqual(want.shape);
      expect(Array.from(out.toArray())).toEqual(Array.from(want.data));
    });
  }
  it('argmax() defaults to the last dim and picks the first of ties', () => {
    const data = ints([4, 6]);
    const out = tensor(data, { shape: [4, 6] }).argmax();
    expect(Array.from(out.toArray())).toEqual(Array.from(argmaxRef(arr(data, [4, 6]), -1, false).data));
    expect(Array.from(tensor([[1, 3, 3, 0], [2, 2, 2, 2]]).argmax(1).toArray())).toEqual([1, 0]);
    expect(Array.from(tensor([[1, 3], [1, 0], [0, 3]]).argmax(0).toArray())).toEqual([0, 0]);
  });
  it('detach() keeps the values and cuts the graph', () => {
    const data = uniform([3, 5]);
    const x = tensor(data, { shape: [3, 5], requiresGrad: true });
    const d = x.mul(2).detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    expect(Array.from(d.toArray())).toEqual(Array.from(data, (v) => Math.fround(2 * v)));
    // loss = sum(detach(2x)·x): only the direct path counts, d loss/dx = 2x (not 4x).
    d.mul(x).sum().backward();
    expectClose(x.grad!.toArray(), Float64Array.from(data, (v) => 2 * v), 1e-6, 1e-12, 'gradient past detach');
    expect(() => x.detach().sum().backward()).toThrow(/does not depend/);
  });
});

describe('max/min gradients with ties: shared evenly, like torch.amax', () => {
  for (const name of ['max', 'min'] as const) {
    for (const [dim, keepdim] of [[null, false], [0, false], [1, true], [-1, false]] as [number | null, boolean][]) {
      it(`${name}(${dim}, keepdim=${keepdim}) [4,6] of values 0, 1, 2`, () => {
        const shape = [4, 6];
        const data = ints(shape);
        const x = tensor(data, { shape, requiresGrad: true });
        const y = x[name](dim, keepdim);
        const ref = reduceRef(arr(data, shape), dim, keepdim, reducers[name]);
        expect([...y.shape]).toEqual(ref.shape);
        expect(Array.from(y.toArray())).toEqual(Array.from(ref.data));
        const w = randomArray(ref.data.length, 31, -1, 1);
        y.mul(tensor(w, { shape: ref.shape.length ? ref.shape : [1] })).sum().backward();
        // Expected: W of the lane / number of elements equal to the lane's extreme.
        const d = dim === null ? null : normDim(dim, 2);
        const want = new Float64Array(data.length);
        let sawTie = false;
        for (let i = 0; i < data.length; i++) {
          const [r, c] = unravel(i, shape);
          const lane = d === null ? 0 : d === 0 ? c : r;
          const members = d === null ? Array.from(data) : d === 0 ? [0, 1, 2, 3].map((k) => data[k * 6 + c]) : Array.from(data.slice(r * 6, r * 6 + 6));
          const extreme = reducers[name](members);
          const count = members.filter((v) => v === extreme).length;
          if (count > 1) sawTie = true;
          want[i] = data[i] === extreme ? w[lane] / count : 0;
        }
        expect(sawTie).toBe(true);
        expectClose(x.grad!.toArray(), want, 1e-6, 1e-7, `${name} tie gradient`);
      });
    }
  }
  it('two-way ties also match central differences (the one tie count where they are defined)', () => {
    const x = tensor([[0.5, 0.5, -1], [2, 0, 2]], { requiresGrad: true });
    x.max(1).sum().backward();
    expect(Array.from(x.grad!.toArray())).toEqual([0.5, 0.5, 0, 0.5, 0, 0.5]);
  });
});

describe('backward(): roots, accumulation, scaled losses', () => {
  it('any one-element tensor can be the root, seeded with 1', () => {
    const data = distinct([2, 3, 4]);
    const a = tensor(data, { shape: [2, 3, 4], requiresGrad: true });
    a.sum(null, true).backward(); // shape [1, 1, 1]
    expect(Array.from(a.grad!.toArray())).toEqual(new Array(24).fill(1));
    const b = tensor(data, { shape: [2, 3, 4], requiresGrad: true });
    b.max().backward(); // shape []
    const top = Array.from(data).indexOf(Math.max(...data));
    expect(Array.from(b.grad!.toArray())).toEqual(Array.from(data, (_, i) => (i === top ? 1 : 0)));
    const c = tensor([1.5], { requiresGrad: true });
    c.mul(c).backward(); // shape [1]
    expect(c.grad!.item()).toBe(3);
    const d = tensor(data, { shape: [2, 3, 4], requiresGrad: true });
    d.mean(-1).mean(-1, true).mean(0).backward(); // shape [1]
    expectClose(d.grad!.toArray(), new Float64Array(24).fill(1 / 24), 1e-6, 1e-12, 'mean of means');
  });
  it('rejects a root of more than one element', () => {
    const x = tensor(uniform([3, 5]), { shape: [3, 5], requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(RangeError);
    expect(() => x.mul(2).backward()).toThrow(/\[3, 5\]/);
  });
  it('a second forward and backward accumulates into leaf gradients', () => {
    const data = uniform([3, 5]);
    const x = tensor(data, { shape: [3, 5], requiresGrad: true });
    x.mul(x).sum().backward();
    x.mul(x).sum().backward();
    expectClose(x.grad!.toArray(), Float64Array.from(data, (v) => 4 * v), 1e-6, 1e-12, 'two backward passes');
  });
  it('crossEntropy(...).mul(3): the logits gradient is 3x, through matmul too', () => {
    const [B, F, C] = [5, 4, 3];
    const xd = uniform([B, F]), wd = uniform([F, C]);
    const labels = Int32Array.from([0, 2, 1, 2, 0]);
    const logitsData = Float32Array.from(matmulRef(arr(xd, [B, F]), arr(wd, [F, C])).data);
    const ref = softmaxXentRef(logitsData, labels, B, C);

    const logits = tensor(logitsData, { shape: [B, C], requiresGrad: true });
    const loss = crossEntropy(logits, tensor(labels)).mul(3);
    expect(Math.abs(loss.item() - 3 * ref.loss)).toBeLessThan(1e-5);
    loss.backward();
    expectClose(logits.grad!.toArray(), ref.dlogits.map((v) => 3 * v), 1e-4, 1e-6, 'd 3·CE / d logits');

    const x = tensor(xd, { shape: [B, F] });
    const w = tensor(wd, { shape: [F, C], requiresGrad: true });
    crossEntropy(x.matmul(w), tensor(labels)).mul(3).add(1).backward();
    // dW = xᵀ·(3·dlogits)
    const dw = matmulRef(transposeRef(arr(xd, [B, F]), 0, 1), arr(ref.dlogits.map((v) => 3 * v), [B, C]));
    expectClose(w.grad!.toArray(), dw.data, 1e-4, 1e-6, 'd (3·CE + 1) / d w');
  });
  it('crossEntropy(...).div(2) halves the gradient; the unscaled loss keeps it', () => {
    const [B, C] = [4, 5];
    const ld = uniform([B, C], -2, 2);
    const labels = Int32Array.from([4, 0, 3, 3]);
    const ref = softmaxXentRef(ld, labels, B, C);
    const a = tensor(ld, { shape: [B, C], requiresGrad: true });
    crossEntropy(a, tensor(labels)).div(2).backward();
    expectClose(a.grad!.toArray(), ref.dlogits.map((v) => v / 2), 1e-4, 1e-6, 'd CE/2 / d logits');
    const b = tensor(ld, { shape: [B, C], requiresGrad: true });
    crossEntropy(b, tensor(labels)).backward();
    expectClose(b.grad!.toArray(), ref.dlogits, 1e-4, 1e-6, 'd CE / d logits');
  });
});

describe('errors', () => {
  const f = (shape: number[]) => tensor(uniform(shape), { shape });
  it('mismatched shapes are a RangeError naming both shapes', () => {
    const ops: [string, (a: Tensor, b: Tensor) => Tensor][] = [
      ['add', (a, b) => a.add(b)], ['sub', (a, b) => a.sub(b)], ['mul', (a, b) => a.mul(b)], ['div', (a, b) => a.div(b)],
      ['eq', (a, b) => a.eq(b)], ['gt', (a, b) => a.gt(b)], ['lt', (a, b) => a.lt(b)],
    ];
    for (const [name, op] of ops) {
      for (const [sa, sb] of [[[2, 3], [3, 2]], [[2, 3], [4]], [[2, 3, 4], [2, 4]], [[3, 2], [2, 1, 4]]] as [number[], number[]][]) {
        const call = () => op(f(sa), f(sb));
        expect(call, `${name} ${shapeStr(sa)} ${shapeStr(sb)}`).toThrow(RangeError);
        expect(call).toThrow(`[${sa.join(', ')}]`);
        expect(call).toThrow(`[${sb.join(', ')}]`);
      }
    }
    for (const [sa, sb] of [[[2, 3], [4, 5]], [[2, 3, 4], [3, 4, 5]], [[2, 3, 4], [5, 2]]] as [number[], number[]][]) {
      const call = () => f(sa).matmul(f(sb));
      expect(call, `matmul ${shapeStr(sa)} ${shapeStr(sb)}`).toThrow(RangeError);
      expect(call).toThrow(`[${sa.join(', ')}]`);
      expect(call).toThrow(`[${sb.join(', ')}]`);
    }
  });
  it('non-float tensors are a TypeError', () => {
    const int = tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3], dtype: 'int32' });
    const byte = tensor(new Uint8Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    const fl = f([2, 3]);
    const unaryOps: [string, (t: Tensor) => unknown][] = [
      ['add(1)', (t) => t.add(1)], ['sub(fl)', (t) => t.sub(fl)], ['mul(2)', (t) => t.mul(2)], ['div(2)', (t) => t.div(2)],
      ['neg', (t) => t.neg()], ['pow', (t) => t.pow(2)], ['exp', (t) => t.exp()], ['log', (t) => t.log()], ['sqrt', (t) => t.sqrt()],
      ['abs', (t) => t.abs()], ['clamp', (t) => t.clamp(0, 1)], ['eq', (t) => t.eq(1)], ['gt', (t) => t.gt(fl)], ['lt', (t) => t.lt(1)],
      ['relu', (t) => t.relu()], ['leakyRelu', (t) => t.leakyRelu(0.1)], ['sigmoid', (t) => t.sigmoid()], ['tanh', (t) => t.tanh()],
      ['gelu', (t) => t.gelu()], ['softmax', (t) => t.softmax(-1)], ['logSoftmax', (t) => t.logSoftmax(0)],
      ['sum', (t) => t.sum()], ['mean', (t) => t.mean(0)], ['max', (t) => t.max(1)], ['min', (t) => t.min()],
      ['argmax', (t) => t.argmax()], ['matmul', (t) => t.matmul(f([3, 2]))],
    ];
    for (const bad of [int, byte]) {
      for (const [name, op] of unaryOps) expect(() => op(bad), `${name} of ${bad.dtype}`).toThrow(TypeError);
    }
    // ... and as the other operand.
    for (const bad of [int, byte]) {
      expect(() => fl.add(bad)).toThrow(TypeError);
      expect(() => fl.sub(bad)).toThrow(TypeError);
      expect(() => fl.mul(bad)).toThrow(TypeError);
      expect(() => fl.div(bad)).toThrow(TypeError);
      expect(() => fl.eq(bad)).toThrow(TypeError);
      expect(() => f([3, 2]).matmul(bad)).toThrow(TypeError);
    }
    expect(() => fl.add(int)).toThrow(/int32/);
  });
  it('a dim out of range is a RangeError', () => {
    const x2 = f([2, 3]), x3 = f([2, 3, 4]);
    const calls: [string, () => unknown][] = [
      ['sum(2)', () => x2.sum(2)], ['sum(-3)', () => x2.sum(-3)], ['mean(3)', () => x3.mean(3, true)], ['max(-4)', () => x3.max(-4)],
      ['min(2)', () => x2.min(2)], ['softmax(2)', () => x2.softmax(2)], ['logSoftmax(-3)', () => x2.logSoftmax(-3)],
      ['softmax(-4)', () => x3.softmax(-4)], ['argmax(2)', () => x2.argmax(2)], ['argmax(-3)', () => x2.argmax(-3)],
      ['transpose(0, 3)', () => x3.transpose(0, 3)], ['transpose(-4, 0)', () => x3.transpose(-4, 0)],
      ['permute(0, 1, 5)', () => x3.permute(0, 1, 5)], ['permute(0, 1)', () => x3.permute(0, 1)],
      ['flatten(0, 3)', () => x3.flatten(0, 3)], ['t() of 3-D', () => x3.t()],
    ];
    for (const [name, call] of calls) expect(call, name).toThrow(RangeError);
    expect(() => x2.sum(2)).toThrow(/dim 2/);
  });
  it('reshape to a wrong size is a RangeError', () => {
    const x = f([2, 3, 4]);
    const calls: [string, () => unknown][] = [
      ['reshape(4, 2)', () => x.reshape(4, 2)], ['reshape(5, -1)', () => x.reshape(5, -1)], ['view(-1, -1)', () => x.view(-1, -1)],
      ['reshape([25])', () => x.reshape([25])], ['view(0, 24)', () => x.view(0, 24)], ['reshape(2, 3, 5)', () => x.reshape(2, 3, 5)],
    ];
    for (const [name, call] of calls) expect(call, name).toThrow(RangeError);
  });
  it('a second backward() on a freed graph throws an error saying so', () => {
    const x = tensor(uniform([3, 5]), { shape: [3, 5], requiresGrad: true });
    const loss = x.exp().mul(x).sum();
    loss.backward();
    const first = Float64Array.from(x.grad!.toArray());
    expect(() => loss.backward()).toThrow(/freed/);
    expect(Array.from(x.grad!.toArray())).toEqual(Array.from(first, Math.fround)); // untouched
  });
  it('backward() through an intermediate whose graph was freed throws too, instead of dropping the gradient', () => {
    const x = tensor(uniform([3, 5]), { shape: [3, 5], requiresGrad: true });
    const h = x.exp();
    h.sum().backward();
    const first = Array.from(x.grad!.toArray());
    expect(() => h.mul(2).sum().backward()).toThrow(/freed/);
    expect(Array.from(x.grad!.toArray())).toEqual(first);
  });
  it('detach() cuts the graph: no gradient flows to the source', () => {
    const x = tensor(uniform([3, 5]), { shape: [3, 5], requiresGrad: true });
    const w = tensor(uniform([5, 2]), { shape: [5, 2], requiresGrad: true });
    const y = x.matmul(w).detach().mul(w.sum()).sum();
    y.backward();
    expect(x.grad).toBeNull(); // only reached through the detached path
    expect(w.grad).not.toBeNull(); // through w.sum()
    expect(() => x.exp().detach().sum().backward()).toThrow(/does not depend/);
  });
});
