// Every loss and reduction against float64 references of PyTorch's formulas, written here; input
// gradients against float64 central differences of the same references; bad inputs.
import { describe, expect, it } from 'vitest';
import { nn, tensor, type Tensor } from '../dist/index.js';
import { numericGrad, randomArray, scaledErr } from './helpers/reference';

type Reduction = 'mean' | 'sum' | 'none';
const REDUCTIONS: Reduction[] = ['mean', 'sum', 'none'];
type LossModule = { forward(input: Tensor, target: Tensor): Tensor };

// ---- float64 references -------------------------------------------------------------------

function logSoftmaxRows(x: ArrayLike<number>, B: number, C: number): Float64Array {
  const out = new Float64Array(B * C);
  for (let r = 0; r < B; r++) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, x[r * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[r * C + c] - mx);
    const lse = mx + Math.log(s);
    for (let c = 0; c < C; c++) out[r * C + c] = x[r * C + c] - lse;
  }
  return out;
}

function reduceRef(values: Float64Array, reduction: Reduction, divisor = values.length): number | Float64Array {
  if (reduction === 'none') return values;
  const s = values.reduce((a, b) => a + b, 0);
  return reduction === 'sum' ? s : s / divisor;
}

interface ClassOpts { reduction: Reduction; weight?: number[]; eps?: number }

/**
 * torch.nn.CrossEntropyLoss (logSoftmax = true) / NLLLoss (false): per row
 * (1-ε)·(-w[y]·logp[y]) + ε·(-Σ_c w_c·logp_c / C); 'mean' divides the sum by Σ_i w[y_i].
 */
function classRef(x: ArrayLike<number>, labels: ArrayLike<number>, B: number, C: number, o: ClassOpts, logSoftmax: boolean) {
  const logp = logSoftmax ? logSoftmaxRows(x, B, C) : Float64Array.from(x);
  const w = o.weight ?? new Array(C).fill(1);
  const eps = o.eps ?? 0;
  const rows = new Float64Array(B);
  let total = 0;
  for (let r = 0; r < B; r++) {
    const y = labels[r];
    let smooth = 0;
    for (let c = 0; c < C; c++) smooth -= w[c] * logp[r * C + c];
    rows[r] = (1 - eps) * -w[y] * logp[r * C + y] + (eps * smooth) / C;
    total += w[y];
  }
  return reduceRef(rows, o.reduction, total);
}

const elementwise = {
  mse: (x: number, t: number) => (x - t) ** 2,
  l1: (x: number, t: number) => Math.abs(x - t),
  smoothL1: (beta: number) => (x: number, t: number) => {
    const d = Math.abs(x - t);
    return d < beta ? (0.5 * d * d) / beta : d - 0.5 * beta;
  },
  bceWithLogits: (x: number, t: number) => Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x))),
  bce: (p: number, t: number) => -(t * Math.max(Math.log(p), -100) + (1 - t) * Math.max(Math.log(1 - p), -100)),
};

function pairRef(f: (x: number, t: number) => number, x: ArrayLike<number>, t: ArrayLike<number>, reduction: Reduction) {
  return reduceRef(Float64Array.from(x, (v, i) => f(v, t[i])), reduction);
}

// ---- checking helpers ---------------------------------------------------------------------

const asArray = (v: number | Float64Array) => (typeof v === 'number' ? [v] : v);

/**
 * Checks loss.forward(x, target) against ref(x) (a number, or per-element values for 'none') and
 * x's gradient against central differences of ref: of 1.7·ref for a scalar (so the incoming
 * gradient is not 1), of Σ v·ref with fixed weights v for 'none'.
 */
function checkLoss(loss: LossModule, xData: Float32Array, shape: number[], target: Tensor, reduction: Reduction,
  ref: (x: ArrayLike<number>) => number | Float64Array, tol = 1e-4) {
  const x = tensor(xData, { shape, requiresGrad: true });
  const out = loss.forward(x, target);
  const expected = ref(xData);
  if (reduction === 'none') {
    expect(out.shape.length).toBeGreaterThan(0);
  } else {
    expect(out.size).toBe(1);
  }
  const got = out.toArray();
  expect(got.length).toBe(asArray(expected).length);
  expect(scaledErr(got, asArray(expected), 1e-2), 'forward').toBeLessThan(1e-5);

  const v = randomArray(out.size, 99, 0.5, 1.5);
  const objective = reduction === 'none'
    ? (z: ArrayLike<number>) => (ref(z) as Float64Array).reduce((a, b, i) => a + v[i] * b, 0)
    : (z: ArrayLike<number>) => 1.7 * (ref(z) as number);
  (reduction === 'none' ? out.mul(tensor(v, { shape: [...out.shape] })).sum() : out.mul(1.7)).backward();
  expect(x.grad, 'gradient').not.toBeNull();
  expect(scaledErr(x.grad!.toArray(), numericGrad(objective, xData)), 'gradient').toBeLessThan(tol);
}

// ---- data ---------------------------------------------------------------------------------

const B = 6, C = 5;
const logits = randomArray(B * C, 11, -3, 3);
const labelData = Int32Array.from([0, 4, 2, 2, 1, 3]);
const labels = () => tensor(labelData);
const classWeights = [0.5, 1, 2, 1.5, 0.25];
const weightTensor = () => tensor(Float32Array.from(classWeights));
// Log-probabilities-like input for NLLLoss (any floats work: NLL only picks and weighs).
const logProbs = Float32Array.from(logSoftmaxRows(randomArray(B * C, 12, -2, 2), B, C));

const shape = [4, 3];
const n = 12;
const preds = randomArray(n, 21, -2, 2);
const targets = randomArray(n, 22, -2, 2);
const probs = randomArray(n, 23, 0.05, 0.95);
const softTargets = randomArray(n, 24, 0, 1);
// For SmoothL1Loss: differences on both sides of each beta (0.5, 1, 2), some close to it.
const smoothDiffs = [0.1, -0.3, 0.45, -0.55, 0.8, -0.95, 1.05, -1.5, 1.9, -2.1, 3, -0.2];
const smoothPreds = Float32Array.from(targets, (t, i) => t + smoothDiffs[i]);
const hardTargets = Float32Array.from(randomArray(n, 25), (v) => (v > 0 ? 1 : 0));

// ---- tests --------------------------------------------------------------------------------

describe('CrossEntropyLoss against float64', () => {
  const cases: [string, Omit<ClassOpts, 'reduction'>][] = [
    ['plain', {}],
    ['class weights', { weight: classWeights }],
    ['label smoothing 0.1', { eps: 0.1 }],
    ['class weights and label smoothing 0.2', { weight: classWeights, eps: 0.2 }],
    ['label smoothing 1', { eps: 1 }],
  ];
  for (const [name, o] of cases) {
    for (const reduction of REDUCTIONS) {
      it(`${name}, reduction ${reduction}: value and gradient`, () => {
        const loss = new nn.CrossEntropyLoss({ reduction, weight: o.weight ? weightTensor() : undefined, labelSmoothing: o.eps });
        checkLoss(loss, logits, [B, C], labels(), reduction, (z) => classRef(z, labelData, B, C, { ...o, reduction }, true));
      });
    }
  }

  it('reduction none gives one value per row', () => {
    const out = new nn.CrossEntropyLoss({ reduction: 'none', labelSmoothing: 0.1 }).forward(tensor(logits, { shape: [B, C] }), labels());
    expect(out.shape).toEqual([B]);
  });

  it('mean with class weights divides by Σ w[target], not by the batch size', () => {
    const x = tensor(logits, { shape: [B, C] });
    const weighted = new nn.CrossEntropyLoss({ weight: weightTensor() }).forward(x, labels()).item();
    const summed = new nn.CrossEntropyLoss({ weight: weightTensor(), reduction: 'sum' }).forward(x, labels()).item();
    const total = Array.from(labelData, (y) => classWeights[y]).reduce((a, b) => a + b);
    expect(weighted).toBeCloseTo(summed / total, 5);
    expect(Math.abs(weighted - summed / B)).toBeGreaterThan(1e-3);
  });

  it('a large logit gives a finite loss and gradient', () => {
    const big = Float32Array.from(logits, (v, i) => (i === 3 ? 80 : v));
    for (const eps of [0, 0.1]) {
      checkLoss(new nn.CrossEntropyLoss({ labelSmoothing: eps }), big, [B, C], labels(), 'mean',
        (z) => classRef(z, labelData, B, C, { reduction: 'mean', eps }, true));
    }
  });
});

describe('NLLLoss against float64', () => {
  for (const weighted of [false, true]) {
    for (const reduction of REDUCTIONS) {
      it(`${weighted ? 'class weights' : 'no weights'}, reduction ${reduction}: value and gradient`, () => {
        const loss = new nn.NLLLoss({ reduction, weight: weighted ? weightTensor() : undefined });
        checkLoss(loss, logProbs, [B, C], labels(), reduction,
          (z) => classRef(z, labelData, B, C, { reduction, weight: weighted ? classWeights : undefined }, false));
      });
    }
  }

  it('LogSoftmax then NLLLoss equals CrossEntropyLoss', () => {
    const x = tensor(logits, { shape: [B, C] });
    const a = new nn.NLLLoss({ weight: weightTensor() }).forward(new nn.LogSoftmax(1).forward(x), labels()).item();
    const b = new nn.CrossEntropyLoss({ weight: weightTensor() }).forward(x, labels()).item();
    expect(Math.abs(a - b)).toBeLessThan(1e-6);
  });
});

describe('regression and binary losses against float64', () => {
  const target = (data: Float32Array) => tensor(data, { shape });
  for (const reduction of REDUCTIONS) {
    it(`MSELoss, reduction ${reduction}`, () => {
      checkLoss(new nn.MSELoss({ reduction }), preds, shape, target(targets), reduction, (z) => pairRef(elementwise.mse, z, targets, reduction));
    });
    it(`L1Loss, reduction ${reduction}`, () => {
      checkLoss(new nn.L1Loss({ reduction }), preds, shape, target(targets), reduction, (z) => pairRef(elementwise.l1, z, targets, reduction));
    });
    for (const beta of [1, 0.5, 2]) {
      it(`SmoothL1Loss beta ${beta}, reduction ${reduction}`, () => {
        checkLoss(new nn.SmoothL1Loss({ reduction, beta }), smoothPreds, shape, target(targets), reduction,
          (z) => pairRef(elementwise.smoothL1(beta), z, targets, reduction));
      });
    }
    for (const [kind, t] of [['soft', softTargets], ['hard', hardTargets]] as const) {
      it(`BCEWithLogitsLoss, ${kind} targets, reduction ${reduction}`, () => {
        checkLoss(new nn.BCEWithLogitsLoss({ reduction }), preds, shape, target(t), reduction,
          (z) => pairRef(elementwise.bceWithLogits, z, t, reduction));
      });
      it(`BCELoss, ${kind} targets, reduction ${reduction}`, () => {
        checkLoss(new nn.BCELoss({ reduction }), probs, shape, target(t), reduction, (z) => pairRef(elementwise.bce, z, t, reduction));
      });
    }
  }

  it('SmoothL1Loss data has differences within 10% on both sides of every beta', () => {
    const d = Array.from(smoothPreds, (v, i) => Math.abs(v - targets[i]));
    for (const beta of [0.5, 1, 2]) {
      expect(d.some((v) => v < beta && v > 0.85 * beta), `below ${beta}`).toBe(true);
      expect(d.some((v) => v > beta && v < 1.15 * beta), `above ${beta}`).toBe(true);
    }
  });

  it('BCEWithLogitsLoss is finite and exact for large logits', () => {
    const x = Float32Array.from([60, -60, 30, -30]);
    const t = Float32Array.from([0, 1, 1, 0]);
    checkLoss(new nn.BCEWithLogitsLoss({ reduction: 'none' }), x, [4], tensor(t), 'none', (z) => pairRef(elementwise.bceWithLogits, z, t, 'none'));
  });

  it('BCELoss clamps its logs at -100, and its gradient stays finite at 0 and 1 (as PyTorch)', () => {
    const p = tensor([0, 1, 0, 1, 0.5], { requiresGrad: true });
    const y = tensor([0, 1, 1, 0, 1]);
    const out = new nn.BCELoss({ reduction: 'none' }).forward(p, y);
    expect(Array.from(out.toArray(), (v) => v + 0)).toEqual([0, 0, 100, 100, expect.closeTo(Math.LN2, 6)]);
    const sum = new nn.BCELoss({ reduction: 'sum' }).forward(p, y);
    expect(sum.item()).toBeCloseTo(200 + Math.LN2, 4);
    sum.backward();
    // PyTorch: (p - y) / max(p·(1 - p), 1e-12)
    const g = Array.from(p.grad!.toArray());
    expect(g.every(Number.isFinite)).toBe(true);
    expect(Math.abs(g[0])).toBe(0);
    expect(Math.abs(g[1])).toBe(0);
    expect(g[2] / -1e12).toBeCloseTo(1, 5);
    expect(g[3] / 1e12).toBeCloseTo(1, 5);
    expect(g[4]).toBeCloseTo(-2, 5);
  });

  it('BCELoss gives the target its gradient log(1-p) - log(p)', () => {
    const t = tensor(softTargets, { shape, requiresGrad: true });
    new nn.BCELoss({ reduction: 'sum' }).forward(tensor(probs, { shape }), t).backward();
    const expected = numericGrad((z) => pairRef(elementwise.bce, probs, z, 'sum') as number, softTargets);
    expect(scaledErr(t.grad!.toArray(), expected)).toBeLessThan(1e-4);
  });
});

describe('loss errors', () => {
  const pairLosses: [string, () => LossModule][] = [
    ['MSELoss', () => new nn.MSELoss()], ['L1Loss', () => new nn.L1Loss()], ['SmoothL1Loss', () => new nn.SmoothL1Loss()],
    ['BCEWithLogitsLoss', () => new nn.BCEWithLogitsLoss()], ['BCELoss', () => new nn.BCELoss()],
  ];
  for (const [name, make] of pairLosses) {
    it(`${name}: a shape mismatch names both shapes; int32 operands are refused`, () => {
      const a = tensor(probs.slice(0, 6), { shape: [2, 3] });
      const b = tensor(probs.slice(0, 6), { shape: [3, 2] });
      expect(() => make().forward(a, b)).toThrow(RangeError);
      expect(() => make().forward(a, b)).toThrow(/\[2, 3\].*\[3, 2\]/);
      // No broadcasting either: [2, 3] against [3] is refused, as a mismatch.
      expect(() => make().forward(a, tensor(probs.slice(0, 3)))).toThrow(/\[2, 3\].*\[3\]/);
      const ints = tensor(Int32Array.from([0, 1, 1, 0, 1, 0]), { shape: [2, 3] });
      expect(() => make().forward(a, ints)).toThrow(TypeError);
      expect(() => make().forward(ints, a)).toThrow(TypeError);
      expect(() => make().forward(a, null as unknown as Tensor)).toThrow(TypeError);
    });
  }

  const classLosses: [string, () => LossModule][] = [
    ['CrossEntropyLoss', () => new nn.CrossEntropyLoss()],
    ['CrossEntropyLoss (label smoothing)', () => new nn.CrossEntropyLoss({ labelSmoothing: 0.1 })],
    ['CrossEntropyLoss (weights, sum)', () => new nn.CrossEntropyLoss({ weight: weightTensor(), reduction: 'sum' })],
    ['NLLLoss', () => new nn.NLLLoss()],
  ];
  for (const [name, make] of classLosses) {
    it(`${name}: labels out of range, of the wrong dtype or count, and inputs that are not [B, C]`, () => {
      const x = tensor(logits, { shape: [B, C] });
      expect(() => make().forward(x, tensor(Int32Array.from([0, 1, 2, 3, 4, 5])))).toThrow(RangeError);
      expect(() => make().forward(x, tensor(Int32Array.from([0, 1, 2, -1, 4, 0])))).toThrow(RangeError);
      expect(() => make().forward(x, tensor(Float32Array.from(labelData)))).toThrow(TypeError);
      expect(() => make().forward(x, tensor(Int32Array.from([0, 1]), { shape: [2] }))).toThrow(/\[2\]/);
      // One label for a batch of six would broadcast over every row: refused.
      expect(() => make().forward(x, tensor(Int32Array.from([1])))).toThrow(/\[1\]/);
      expect(() => make().forward(tensor(logits.slice(0, C)), tensor(Int32Array.from([1])))).toThrow();
      expect(() => make().forward(tensor(Int32Array.from(labelData.slice(0, 6)), { shape: [2, 3] }), tensor(Int32Array.from([0, 1])))).toThrow(TypeError);
    });
  }

  it('bad options are refused', () => {
    expect(() => new nn.MSELoss({ reduction: 'avg' as Reduction })).toThrow(TypeError);
    expect(() => new nn.CrossEntropyLoss({ reduction: 'avg' as Reduction })).toThrow(TypeError);
    expect(() => new nn.CrossEntropyLoss({ labelSmoothing: 1.5 })).toThrow();
    expect(() => new nn.CrossEntropyLoss({ labelSmoothing: -0.1 })).toThrow();
    expect(() => new nn.SmoothL1Loss({ beta: 0 })).toThrow(RangeError);
    const x = tensor(logits, { shape: [B, C] });
    expect(() => new nn.CrossEntropyLoss({ weight: tensor([1, 2, 3]) }).forward(x, labels())).toThrow(/\[5\].*\[3\]/);
    expect(() => new nn.NLLLoss({ weight: tensor(Int32Array.from([1, 1, 1, 1, 1])) }).forward(x, labels())).toThrow(TypeError);
  });
});
