// Shape ops with autograd: reshape/view/flatten (views of the same storage), transpose/t and
// permute (copies), detach, clone.
import { describe } from '../device';
import { native } from '../native';
import { Tensor } from '../tensor';
import { record, requireTensor } from './graph';
import { traced } from './trace';

/** The dimension `dim` of a rank-`rank` tensor, negative counting from the end; RangeError otherwise. */
export function normalizeDim(op: string, dim: number, rank: number): number {
  if (typeof dim !== 'number' || !Number.isInteger(dim)) throw new TypeError(`${op}: dim must be an integer, got ${describe(dim)}`);
  const lo = rank === 0 ? -1 : -rank, hi = rank === 0 ? 0 : rank - 1;
  if (dim < lo || dim > hi) throw new RangeError(`${op}: dim ${dim} is out of range for a tensor of ${rank} dimensions`);
  return dim < 0 ? dim + Math.max(rank, 1) : dim;
}

/** x viewed with `shape` (one entry may be -1: inferred). Shares x's storage, as PyTorch's view. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  requireTensor(x, 'reshape');
  if (!Array.isArray(shape)) throw new TypeError(`reshape: shape must be an array of sizes, got ${typeof shape}`);
  const resolved = inferShape(x, shape);
  const y = traced('reshape', [x], new Tensor(native.ops.reshape(x.native, resolved)), { shape: resolved });
  return record(y, [x], (g) => [g ? new Tensor(native.ops.reshape(g.native, [...x.shape])) : null]);
}

function inferShape(x: Tensor, shape: readonly number[]): number[] {
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new RangeError('reshape: only one dimension can be -1');
  for (const d of shape) {
    if (!Number.isInteger(d) || (d < 1 && d !== -1)) throw new RangeError(`reshape: sizes must be integers >= 1 (or one -1), got [${shape.join(', ')}]`);
  }
  if (!unknown) return [...shape];
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  if (x.size % known !== 0) throw new RangeError(`reshape: cannot view [${x.shape.join(', ')}] as [${shape.join(', ')}]`);
  return shape.map((d) => (d === -1 ? x.size / known : d));
}

/** x with dimensions startDim..endDim merged into one (default: all but the first). */
export function flatten(x: Tensor, startDim = 1, endDim = -1): Tensor {
  requireTensor(x, 'flatten');
  const rank = x.shape.length;
  const s = normalizeDim('flatten', startDim, rank), e = normalizeDim('flatten', endDim, rank);
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/** x with its dimensions reordered (output dim i is x's dims[i]), as a new tensor. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  requireTensor(x, 'permute');
  const rank = x.shape.length;
  if (!Array.isArray(dims) || dims.length !== rank) throw new RangeError(`permute: needs ${rank} dims, got ${describe(dims)}`);
  const order = dims.map((d) => normalizeDim('permute', d, rank));
  const y = traced('permute', [x], new Tensor(native.ops.permute(x.native, order)), { dims: order });
  const inverse = order.map((_, i) => order.indexOf(i));
  return record(y, [x], (g) => [g ? new Tensor(native.ops.permute(g.native, inverse)) : null]);
}

/** x with dimensions dim0 and dim1 swapped, as a new tensor. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  requireTensor(x, 'transpose');
  const rank = x.shape.length;
  const a = normalizeDim('transpose', dim0, rank), b = normalizeDim('transpose', dim1, rank);
  const order = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, order);
}

/** The transpose of a 2-D tensor. */
export function t(x: Tensor): Tensor {
  requireTensor(x, 't');
  if (x.shape.length !== 2) throw new RangeError(`t() needs a 2-D tensor, got shape [${x.shape.join(', ')}]`);
  return transpose(x, 0, 1);
}

/** The same values, cut from the graph (shares the storage). */
export function detach(x: Tensor): Tensor {
  requireTensor(x, 'detach');
  return traced('detach', [x], new Tensor(native.ops.reshape(x.native, [...x.shape])));
}

/** A copy with its own storage; gradients flow back to x. */
export function clone(x: Tensor): Tensor {
  requireTensor(x, 'clone');
  const y = traced('clone', [x], new Tensor(x.native.to(x.device)));
  return record(y, [x], (g) => [g ? new Tensor(g.native.to(g.device)) : null]);
}
