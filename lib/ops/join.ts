// Joining, splitting and picking rows with autograd: cat, stack, indexSelect.
import { native } from '../native';
import { Tensor } from '../tensor';
import { free, record, requireTensor } from './graph';
import { matmul } from './linalg';
import { normalizeDim, permute, reshape } from './shape';
import { traced } from './trace';

// The permutation that moves `dim` to the front, and its inverse.
function frontOrder(rank: number, dim: number): { order: number[]; inverse: number[] } {
  const order = [dim, ...[...Array(rank).keys()].filter((i) => i !== dim)];
  return { order, inverse: order.map((_, i) => order.indexOf(i)) };
}

/** The tensors joined along `dim` (default 0); every other dimension must match. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError('cat needs a non-empty array of tensors');
  tensors.forEach((x, i) => requireTensor(x, 'cat', `tensors[${i}]`));
  const rank = tensors[0].shape.length;
  tensors.forEach((x, i) => {
    if (x.shape.length !== rank) throw new RangeError(`cat: tensors[0] has ${rank} dimensions but tensors[${i}] has ${x.shape.length}`);
  });
  const d = normalizeDim('cat', dim, rank);
  const { order, inverse } = frontOrder(rank, d);
  // Along dimension 0 the pieces are contiguous blocks; other dims are moved to the front first.
  const fronts = d === 0 ? tensors.map((x) => x.native) : tensors.map((x) => native.ops.permute(x.native, order));
  const joined = native.ops.catRows(fronts);
  if (d !== 0) fronts.forEach((f) => f.dispose());
  let out = joined;
  if (d !== 0) {
    out = native.ops.permute(joined, inverse);
    joined.dispose();
  }
  const sizes = tensors.map((x) => x.shape[d]);
  return record(traced('cat', tensors, new Tensor(out), { dim: d }), [...tensors], (g) => {
    if (!g) return tensors.map(() => null);
    const gf = d === 0 ? g.native : native.ops.permute(g.native, order);
    let start = 0;
    const grads = sizes.map((n) => {
      const part = native.ops.sliceRows(gf, start, n);
      start += n;
      if (d === 0) return new Tensor(part);
      const back = native.ops.permute(part, inverse);
      part.dispose();
      return new Tensor(back);
    });
    if (gf !== g.native) gf.dispose();
    return grads;
  });
}

/** The tensors (of one shape) stacked along a new dimension `dim` (default 0). */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError('stack needs a non-empty array of tensors');
  const shape: readonly number[] = requireTensor(tensors[0], 'stack', 'tensors[0]').shape;
  tensors.forEach((x, i) => {
    requireTensor(x, 'stack', `tensors[${i}]`);
    if (x.shape.length !== shape.length || x.shape.some((s: number, k: number) => s !== shape[k])) {
      throw new RangeError(`stack: tensors[0] has shape [${shape.join(', ')}] but tensors[${i}] has [${x.shape.join(', ')}]`);
    }
  });
  const d = normalizeDim('stack', dim, shape.length + 1);
  const unsqueezed = [...shape.slice(0, d), 1, ...shape.slice(d)];
  return cat(tensors.map((x) => reshape(x, unsqueezed)), d);
}

/**
 * The slices of x at `indices` (int32) along `dim` (default 0), like torch.index_select. The
 * gradient adds each picked slice's gradient back at its index (repeats add up).
 */
export function indexSelect(x: Tensor, dim: number, indices: Tensor | Int32Array | readonly number[]): Tensor {
  requireTensor(x, 'indexSelect');
  if (x.dtype !== 'float32') throw new TypeError(`indexSelect: input must be float32, got ${x.dtype}`);
  const idx = indices instanceof Tensor ? indexArray(indices) : Int32Array.from(indices as ArrayLike<number>);
  const rank = x.shape.length;
  const d = normalizeDim('indexSelect', dim, rank);
  const n = x.shape[d];
  idx.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v >= n) throw new RangeError(`indexSelect: indices[${i}] is ${v}, expected [0, ${n})`);
  });
  const { order, inverse } = frontOrder(rank, d);
  const front = d === 0 ? x.native : native.ops.permute(x.native, order);
  const rowSize = x.size / n;
  const rows = native.ops.reshape(front, [n, rowSize]);
  const picked = native.ops.gatherRows(rows, idx);
  rows.dispose();
  if (front !== x.native) front.dispose();
  const frontShape = [idx.length, ...order.slice(1).map((i) => x.shape[i])];
  const shaped = native.ops.reshape(picked, frontShape);
  picked.dispose();
  let out = shaped;
  if (d !== 0) {
    out = native.ops.permute(shaped, inverse);
    shaped.dispose();
  }
  return record(traced('indexSelect', [x], new Tensor(out), { dim: d, indices: [...idx] }), [x], (g) => {
    if (!g) return [null];
    // dx rows = onehotᵀ [n, B] · g rows [B, rest]: each row's gradient summed at its index.
    const oneHot = new Float32Array(idx.length * n);
    idx.forEach((v, i) => { oneHot[i * n + v] = 1; });
    const sel = new Tensor(new native.Tensor(oneHot, [idx.length, n], g.device));
    const gf = d === 0 ? g : permute(g, order);
    const gRows = reshape(gf, [idx.length, rowSize]);
    const dRows = new Tensor(native.ops.matmul(sel.native, gRows.native, true, false));
    free(sel, gRows);
    if (gf !== g) free(gf);
    const dFront = native.ops.reshape(dRows.native, order.map((i) => x.shape[i]));
    free(dRows);
    if (d === 0) return [new Tensor(dFront)];
    const dx = native.ops.permute(dFront, inverse);
    dFront.dispose();
    return [new Tensor(dx)];
  });
}

function indexArray(t: Tensor): Int32Array {
  if (t.dtype !== 'int32' || t.shape.length !== 1) {
    throw new TypeError(`indexSelect: indices must be an int32 tensor [B], got ${t.dtype} [${t.shape.join(', ')}]`);
  }
  return t.toArray<'int32'>();
}
