// Reductions with autograd: sum, mean, max, min (of every element, or along a dim with keepdim),
// and argmax (no gradient).
import { native } from '../native';
import { Tensor } from '../tensor';
import { free, record, requireFloat, requireTensor } from './graph';
import { normalizeDim } from './shape';
import { traced } from './trace';

type ReduceName = 'sum' | 'mean' | 'max' | 'min';

// The shape of a keepdim result, for broadcasting a gradient back over the reduced dimension.
function keptShape(shape: readonly number[], dim: number | null): number[] {
  return dim === null ? shape.map(() => 1) : shape.map((d, i) => (i === dim ? 1 : d));
}

function reduction(op: ReduceName, x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor {
  requireFloat(requireTensor(x, op), op);
  if (typeof keepdim !== 'boolean') throw new TypeError(`${op}: keepdim must be a boolean, got ${typeof keepdim}`);
  const d = dim === undefined || dim === null ? null : normalizeDim(op, dim, x.shape.length);
  if ((op === 'max' || op === 'min') && x.size === 0) throw new RangeError(`${op} of an empty tensor`);
  const y = traced(op, [x], new Tensor(native.ops.reduce(x.native, op, d, keepdim)), { dim: d, keepdim });
  return record(y, [x], (g) => {
    if (!g) return [null];
    const count = d === null ? x.size : x.shape[d];
    // g, shaped to keep the reduced dimension (a whole-tensor result broadcasts as it is), spread
    // back over x's shape.
    const gk = d === null || keepdim ? g.native : native.ops.reshape(g.native, keptShape(x.shape, d));
    const spread = new Tensor(native.ops.expand(gk, [...x.shape]), false, x.shape);
    if (gk !== g.native) gk.dispose();
    if (op === 'sum') return [spread];
    if (op === 'mean') {
      const out = new Tensor(native.ops.unary(spread.native, 'affine', 1 / count, 0));
      free(spread);
      return [out];
    }
    // max/min: the gradient goes to the elements equal to the result, shared evenly among ties.
    const yk = native.ops.reshape(y.native, keptShape(x.shape, d));
    const mask = native.ops.binary(x.native, yk, 'eq', 0);
    const ties = native.ops.reduce(mask, 'sum', d, true);
    const share = native.ops.binary(mask, ties, 'div', 0);
    const out = new Tensor(native.ops.binary(spread.native, share, 'mul', 0));
    for (const n of [yk, mask, ties, share]) n.dispose();
    free(spread);
    return [out];
  });
}

/** The sum of every element, or along `dim` (keepdim keeps it with size 1). */
export function sum(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  return reduction('sum', x, dim, keepdim);
}
/** The mean of every element, or along `dim`. */
export function mean(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  return reduction('mean', x, dim, keepdim);
}
/** The largest element, or the largest along `dim` (NaN propagates). */
export function max(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  return reduction('max', x, dim, keepdim);
}
/** The smallest element, or the smallest along `dim`. */
export function min(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  return reduction('min', x, dim, keepdim);
}

/** int32 indices of the largest values along `dim` (default: the last), the first one on ties. */
export function argmax(x: Tensor, dim = -1, keepdim = false): Tensor {
  requireFloat(requireTensor(x, 'argmax'), 'argmax');
  const rank = x.shape.length;
  const d = normalizeDim('argmax', dim, rank);
  // The native argmax runs along the last dimension of a 2-D view: move `dim` last, flatten the rest.
  let moved = x.native;
  if (d !== rank - 1) moved = native.ops.permute(x.native, [...x.shape.keys()].filter((i) => i !== d).concat(d));
  const len = x.shape[d];
  const rows = x.size / len;
  const view = native.ops.reshape(moved, [rows, len]);
  const flat = native.ops.argmax(view);
  view.dispose();
  if (moved !== x.native) moved.dispose();
  const outShape = keepdim ? keptShape(x.shape, d) : x.shape.filter((_, i) => i !== d);
  const out = native.ops.reshape(flat, outShape);
  flat.dispose();
  return traced('argmax', [x], new Tensor(out), { dim: d, keepdim });
}
