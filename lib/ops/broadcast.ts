// Gradients of broadcasting ops: a gradient of the output's shape summed back to an input's shape.
import { native } from '../native';
import { Tensor } from '../tensor';

/** Numpy/PyTorch broadcasting of two shapes, or null when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    const x = a[a.length - rank + d] ?? 1, y = b[b.length - rank + d] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/**
 * g (of a broadcast result's shape) summed over the dimensions that broadcasting added or
 * stretched, giving `shape`. Returns g itself when nothing was broadcast (the caller must not
 * free it twice).
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  const gs = g.shape;
  if (gs.length === shape.length && gs.every((d, i) => d === shape[i])) return g;
  let current = g.native;
  const lead = gs.length - shape.length;
  // Sum the leading dimensions away, then each stretched one (keepdim).
  for (let d = 0; d < lead; d++) {
    const next = native.ops.reduce(current, 'sum', 0, false);
    if (current !== g.native) current.dispose();
    current = next;
  }
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1 && current.shape[d] !== 1) {
      const next = native.ops.reduce(current, 'sum', d, true);
      if (current !== g.native) current.dispose();
      current = next;
    }
  }
  if (current.shape.length !== shape.length) {
    const view = native.ops.reshape(current, [...shape]);
    if (current !== g.native) current.dispose();
    current = view;
  }
  return new Tensor(current);
}
