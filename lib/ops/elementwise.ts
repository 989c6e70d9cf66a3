// Element-wise arithmetic with broadcasting and autograd: add, sub, mul, div, neg, pow, exp, log,
// sqrt, abs, clamp, and the comparisons (masks of 1 and 0, no gradient). Numbers are accepted as
// operands.
import { native } from '../native';
import type { NativeBinaryOp, NativeUnaryOp } from '../native-types';
import { isUnitGradient, Tensor } from '../tensor';
import { broadcastShapes, sumToShape } from './broadcast';
import { free, record, requireFloat, requireTensor, tracks } from './graph';
import { traced } from './trace';

/** A tensor or a number, as the second operand of an arithmetic op. */
export type Operand = Tensor | number;

/** op(x) through the native unary kernel. */
export function unaryOp(x: Tensor, op: NativeUnaryOp, a = 0, b = 0): Tensor {
  return new Tensor(native.ops.unary(x.native, op, a, b), false, x.shape);
}

/** op(a, b) through the native binary kernel (broadcasting). */
export function binaryOp(a: Tensor, b: Tensor, op: NativeBinaryOp, param = 0): Tensor {
  const out = native.ops.binary(a.native, b.native, op, param);
  const as = a.shape, bs = b.shape;
  // The common cases' shape without asking the native side: equal shapes, or b a scalar.
  if (as.length === bs.length && as.every((d, i) => d === bs[i])) return new Tensor(out, false, as);
  if (bs.length <= as.length && bs.every((d) => d === 1)) return new Tensor(out, false, as);
  return new Tensor(out);
}

/**
 * d times the output gradient g, on the device (g broadcasts), consuming d; d itself when g is
 * backward()'s seed of ones. For the backward of ops that compute their gradient in the forward
 * pass (the fused losses).
 */
export function timesGradient(d: Tensor, g: Tensor | null): Tensor {
  if (!g || isUnitGradient(g)) return d;
  const out = binaryOp(d, g, 'mul');
  d.dispose();
  return out;
}

/** A one-element float32 tensor holding `value` on `device`. */
export function scalar(value: number, device: string): Tensor {
  return new Tensor(new native.Tensor(new Float32Array([value]), [1], device));
}

function operand(op: string, x: Tensor, other: Operand): Tensor {
  if (typeof other === 'number') return scalar(other, x.device);
  requireFloat(requireTensor(other, op, 'other'), op, 'other');
  if (other.device !== x.device) throw new TypeError(`${op}: the operands are on ${x.device} and ${other.device}`);
  if (!broadcastShapes(x.shape, other.shape)) {
    throw new RangeError(`${op}: shapes [${x.shape.join(', ')}] and [${other.shape.join(', ')}] do not broadcast`);
  }
  return other;
}

function checkNumber(op: string, v: number): number {
  if (typeof v !== 'number') throw new TypeError(`${op} expects a number, got ${typeof v}`);
  return v;
}

/** x + other. */
export function add(x: Tensor, other: Operand): Tensor {
  requireFloat(requireTensor(x, 'add'), 'add');
  if (typeof other === 'number') {
    const y = traced('add', [x], unaryOp(x, 'affine', 1, checkNumber('add', other)), { other });
    return record(y, [x], (g) => [g]);
  }
  const o = operand('add', x, other);
  const y = traced('add', [x, o], binaryOp(x, o, 'add'));
  // g itself goes to an input of its own shape (runBackward copies it only where it must).
  return record(y, [x, o], (g) => (g ? [sumToShape(g, x.shape), sumToShape(g, o.shape)] : [null, null]));
}

/** x - other. */
export function sub(x: Tensor, other: Operand): Tensor {
  requireFloat(requireTensor(x, 'sub'), 'sub');
  if (typeof other === 'number') {
    const y = traced('sub', [x], unaryOp(x, 'affine', 1, -checkNumber('sub', other)), { other });
    return record(y, [x], (g) => [g]);
  }
  const o = operand('sub', x, other);
  const y = traced('sub', [x, o], binaryOp(x, o, 'sub'));
  return record(y, [x, o], (g) => {
    if (!g) return [null, null];
    const ng = unaryOp(g, 'neg');
    const go = sumToShape(ng, o.shape);
    if (go !== ng) free(ng);
    return [sumToShape(g, x.shape), go];
  });
}

/** x · other, element-wise. */
export function mul(x: Tensor, other: Operand): Tensor {
  requireFloat(requireTensor(x, 'mul'), 'mul');
  if (typeof other === 'number') {
    const s = checkNumber('mul', other);
    const y = traced('mul', [x], unaryOp(x, 'affine', s, 0), { other: s });
    return record(y, [x], (g) => [g ? unaryOp(g, 'affine', s, 0) : null]);
  }
  const o = operand('mul', x, other);
  const y = traced('mul', [x, o], binaryOp(x, o, 'mul'));
  return record(y, [x, o], (g) => {
    if (!g) return [null, null];
    // Only for the inputs that need one (a dropout mask or a constant does not).
    return [tracks(x) ? productGrad(g, o, x) : null, tracks(o) ? productGrad(g, x, o) : null];
  });
}

/** x / other, element-wise. */
export function div(x: Tensor, other: Operand): Tensor {
  requireFloat(requireTensor(x, 'div'), 'div');
  const o = operand('div', x, typeof other === 'number' ? checkNumber('div', other) : other);
  const inputs = typeof other === 'number' ? [x] : [x, o];
  const y = traced('div', inputs, binaryOp(x, o, 'div'), typeof other === 'number' ? { other } : {});
  return record(y, inputs, (g) => {
    if (!g) return inputs.map(() => null);
    const gx = binaryOp(g, o, 'div');
    const dx = sumToShape(gx, x.shape);
    if (dx !== gx) free(gx);
    if (inputs.length === 1) return [dx];
    // d(x/o)/do = -x/o²
    const o2 = binaryOp(o, o, 'mul');
    const gxo = binaryOp(g, x, 'mul');
    const q = binaryOp(gxo, o2, 'div');
    const nq = unaryOp(q, 'neg');
    const dOther = sumToShape(nq, o.shape);
    free(o2, gxo, q);
    if (dOther !== nq) free(nq);
    return [dx, dOther];
  });
}

/** -x. */
export function neg(x: Tensor): Tensor {
  requireFloat(requireTensor(x, 'neg'), 'neg');
  return record(traced('neg', [x], unaryOp(x, 'neg')), [x], (g) => [g ? unaryOp(g, 'neg') : null]);
}

/** x ** exponent (a number). */
export function pow(x: Tensor, exponent: number): Tensor {
  requireFloat(requireTensor(x, 'pow'), 'pow');
  const p = checkNumber('pow', exponent);
  const y = traced('pow', [x], unaryOp(x, 'pow', p), { exponent: p });
  return record(y, [x], (g) => {
    if (!g) return [null];
    if (p === 0) return [unaryOp(g, 'affine', 0, 0)];
    const d = unaryOp(x, 'pow', p - 1);
    const dp = unaryOp(d, 'affine', p, 0);
    free(d);
    const out = binaryOp(g, dp, 'mul');
    free(dp);
    return [out];
  });
}

/** eˣ. */
export function exp(x: Tensor): Tensor {
  requireFloat(requireTensor(x, 'exp'), 'exp');
  const y = traced('exp', [x], unaryOp(x, 'exp'));
  return record(y, [x], (g) => [g ? binaryOp(g, y, 'mul') : null]);
}

/** Natural logarithm. */
export function log(x: Tensor): Tensor {
  requireFloat(requireTensor(x, 'log'), 'log');
  return record(traced('log', [x], unaryOp(x, 'log')), [x], (g) => [g ? binaryOp(g, x, 'div') : null]);
}

/** Square root. */
export function sqrt(x: Tensor): Tensor {
  requireFloat(requireTensor(x, 'sqrt'), 'sqrt');
  const y = traced('sqrt', [x], unaryOp(x, 'sqrt'));
  return record(y, [x], (g) => {
    if (!g) return [null];
    const twice = unaryOp(y, 'affine', 2, 0);
    const out = binaryOp(g, twice, 'div');
    free(twice);
    return [out];
  });
}

/** |x|; its gradient is sign(x) (0 at 0, as in PyTorch). */
export function abs(x: Tensor): Tensor {
  requireFloat(requireTensor(x, 'abs'), 'abs');
  return record(traced('abs', [x], unaryOp(x, 'abs')), [x], (g) => {
    if (!g) return [null];
    const zero = scalar(0, x.device);
    const pos = binaryOp(x, zero, 'gt');
    const negative = binaryOp(x, zero, 'lt');
    const sign = binaryOp(pos, negative, 'sub');
    free(zero, pos, negative);
    const out = binaryOp(g, sign, 'mul');
    free(sign);
    return [out];
  });
}

/** x limited to [min, max] (either may be omitted); the gradient passes where min <= x <= max. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  requireFloat(requireTensor(x, 'clamp'), 'clamp');
  const lo = min ?? -Infinity, hi = max ?? Infinity;
  checkNumber('clamp', lo);
  checkNumber('clamp', hi);
  if (Number.isNaN(lo) || Number.isNaN(hi)) throw new RangeError('clamp: min and max must not be NaN');
  const y = traced('clamp', [x], unaryOp(x, 'clamp', lo, hi), { min: lo, max: hi });
  return record(y, [x], (g) => {
    if (!g) return [null];
    // pass = 1 - (x < lo) - (x > hi)
    const loT = scalar(lo, x.device), hiT = scalar(hi, x.device);
    const below = binaryOp(x, loT, 'lt'), above = binaryOp(x, hiT, 'gt');
    const out1 = binaryOp(below, above, 'add');
    const pass = unaryOp(out1, 'affine', -1, 1);
    free(loT, hiT, below, above, out1);
    const out = binaryOp(g, pass, 'mul');
    free(pass);
    return [out];
  });
}

/** 1 where x == other, else 0 (float32; no gradient). */
export function eq(x: Tensor, other: Operand): Tensor {
  return compare('eq', x, other);
}
/** 1 where x > other, else 0 (float32; no gradient). */
export function gt(x: Tensor, other: Operand): Tensor {
  return compare('gt', x, other);
}
/** 1 where x < other, else 0 (float32; no gradient). */
export function lt(x: Tensor, other: Operand): Tensor {
  return compare('lt', x, other);
}

function compare(op: 'eq' | 'gt' | 'lt', x: Tensor, other: Operand): Tensor {
  requireFloat(requireTensor(x, op), op);
  const o = operand(op, x, other);
  const out = traced(op, typeof other === 'number' ? [x] : [x, o], binaryOp(x, o, op), typeof other === 'number' ? { other } : {});
  if (o !== other) o.dispose();
  return out;
}

// (g · factor) summed to input's shape.
function productGrad(g: Tensor, factor: Tensor, input: Tensor): Tensor {
  const p = binaryOp(g, factor, 'mul');
  const r = sumToShape(p, input.shape);
  if (r !== p) p.dispose();
  return r;
}
