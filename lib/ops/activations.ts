// Activations and the softmax family with autograd.
import { describe } from '../device';
import { native } from '../native';
import { Tensor } from '../tensor';
import { unaryOp } from './elementwise';
import { free, record, requireFloat, requireTensor } from './graph';
import { normalizeDim } from './shape';
import { traced } from './trace';

function activation(op: 'relu' | 'sigmoid' | 'tanh', grad: 'reluGrad' | 'sigmoidGrad' | 'tanhGrad', x: Tensor): Tensor {
  requireFloat(requireTensor(x, op), op);
  const y = traced(op, [x], unaryOp(x, op));
  return record(y, [x], (g) => [g ? new Tensor(native.ops.binary(g.native, y.native, grad, 0)) : null]);
}

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return activation('relu', 'reluGrad', x);
}
/** 1 / (1 + e⁻ˣ). */
export function sigmoid(x: Tensor): Tensor {
  return activation('sigmoid', 'sigmoidGrad', x);
}
/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return activation('tanh', 'tanhGrad', x);
}

/** x where x > 0, else negativeSlope·x (negativeSlope >= 0). */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  requireFloat(requireTensor(x, 'leakyRelu'), 'leakyRelu');
  if (typeof negativeSlope !== 'number' || !(negativeSlope >= 0) || !Number.isFinite(negativeSlope)) {
    throw new RangeError(`leakyRelu: negativeSlope must be a finite number >= 0, got ${describe(negativeSlope)}`);
  }
  const y = traced('leakyRelu', [x], unaryOp(x, 'leakyRelu', negativeSlope), { negativeSlope });
  return record(y, [x], (g) => [g ? new Tensor(native.ops.binary(g.native, y.native, 'leakyReluGrad', negativeSlope)) : null]);
}

/** GELU, the exact form x·Φ(x) (PyTorch's default approximate='none'). */
export function gelu(x: Tensor): Tensor {
  requireFloat(requireTensor(x, 'gelu'), 'gelu');
  const y = traced('gelu', [x], unaryOp(x, 'gelu'));
  return record(y, [x], (g) => [g ? new Tensor(native.ops.binary(g.native, x.native, 'geluGrad', 0)) : null]);
}

// fn applied to rows of the last dimension after moving `dim` there; the result is moved back.
function alongDim(x: Tensor, dim: number, fn: (rows: ReturnType<typeof native.ops.reshape>) => ReturnType<typeof native.ops.reshape>) {
  const rank = x.shape.length;
  const d = normalizeDim('softmax', dim, rank);
  const order = [...x.shape.keys()].filter((i) => i !== d).concat(d);
  const moved = d === rank - 1 ? x.native : native.ops.permute(x.native, order);
  const len = x.shape[d];
  const view = native.ops.reshape(moved, [x.size / len, len]);
  const outRows = fn(view);
  view.dispose();
  if (moved !== x.native) moved.dispose();
  const outMoved = native.ops.reshape(outRows, [...moved.shape]);
  outRows.dispose();
  if (d === rank - 1) return { out: outMoved, d };
  const inverse = order.map((_, i) => order.indexOf(i));
  const out = native.ops.permute(outMoved, inverse);
  outMoved.dispose();
  return { out, d };
}

/** softmax along `dim` (default: the last). */
export function softmax(x: Tensor, dim = -1): Tensor {
  requireFloat(requireTensor(x, 'softmax'), 'softmax');
  const { out, d } = alongDim(x, dim, (rows) => native.ops.softmax(rows));
  const y = traced('softmax', [x], new Tensor(out), { dim: d });
  return record(y, [x], (g) => {
    if (!g) return [null];
    // dx = y·(g - Σ_dim g·y)
    const gy = native.ops.binary(g.native, y.native, 'mul', 0);
    const s = native.ops.reduce(gy, 'sum', d, true);
    const diff = native.ops.binary(g.native, s, 'sub', 0);
    const dx = new Tensor(native.ops.binary(y.native, diff, 'mul', 0));
    for (const n of [gy, s, diff]) n.dispose();
    return [dx];
  });
}

/** log(softmax(x)) along `dim` (default: the last), computed stably. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  requireFloat(requireTensor(x, 'logSoftmax'), 'logSoftmax');
  const { out, d } = alongDim(x, dim, (rows) => native.ops.logSoftmax(rows));
  const y = traced('logSoftmax', [x], new Tensor(out), { dim: d });
  return record(y, [x], (g) => {
    if (!g) return [null];
    // dx = g - softmax·Σ_dim g
    const p = unaryOp(y, 'exp');
    const s = native.ops.reduce(g.native, 'sum', d, true);
    const ps = native.ops.binary(p.native, s, 'mul', 0);
    const dx = new Tensor(native.ops.binary(g.native, ps, 'sub', 0));
    free(p);
    s.dispose();
    ps.dispose();
    return [dx];
  });
}
