// Gradients of cat, stack and indexSelect (and of permute and transpose, which move the same
// elements) against an independent float64 reference: for L = Σ w ⊙ op(inputs) the gradient of
// each input element is the sum of the weights w at the output positions it lands in, found here
// by walking the index arithmetic of the op's definition; then a finite-difference check of one
// composite through every op.
import { describe, expect, it } from 'vitest';
import { cat, indexSelect, stack, tensor, type Tensor } from '../dist/index.js';
import { numericGrad, randomArray } from './helpers/reference';

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const strides = (shape: readonly number[]) => shape.map((_, d) => numel(shape.slice(d + 1)));
const flatIndex = (index: number[], shape: readonly number[]) => index.reduce((acc, v, d) => acc + v * strides(shape)[d], 0);
function* indices(shape: readonly number[]): Generator<number[]> {
  const n = numel(shape);
  for (let flat = 0; flat < n; flat++) yield shape.map((s, d) => Math.floor(flat / strides(shape)[d]) % s);
}

// Backward of Σ w ⊙ op(inputs); returns each input's gradient.
function grads(inputs: Tensor[], op: (xs: Tensor[]) => Tensor, w: Float32Array): Float32Array[] {
  const out = op(inputs);
  out.mul(tensor(w, { shape: [...out.shape] })).sum().backward();
  return inputs.map((x) => x.grad!.toArray() as Float32Array);
}

const input = (shape: number[], seed: number) => tensor(randomArray(numel(shape), seed), { shape, requiresGrad: true });

describe('gradients of the joining and gathering ops', () => {
  it('cat along each dim: each input gets the weights of its slice', () => {
    for (const dim of [0, 1, 2, -1]) {
      const shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]].map((s, k) => s.map((v, d) => (d === (dim + 3) % 3 ? v + k : v)));
      const xs = shapes.map((s, k) => input(s, 10 + k));
      const d = (dim + 3) % 3;
      const outShape = shapes[0].map((v, i) => (i === d ? shapes.reduce((a, s) => a + s[d], 0) : v));
      const w = randomArray(numel(outShape), 20 + dim);
      const got = grads(xs, (ts) => cat(ts, dim), w);
      let offset = 0;
      shapes.forEach((shape, k) => {
        const expected = Float32Array.from(indices(shape), (idx) => w[flatIndex(idx.map((v, i) => (i === d ? v + offset : v)), outShape)]);
        expect(Array.from(got[k]), `cat dim ${dim} input ${k}`).toEqual(Array.from(expected));
        offset += shape[d];
      });
    }
  });

  it('stack along each dim: input k gets the weights at index k of the new dim', () => {
    for (const dim of [0, 1, 2, -1]) {
      const shape = [3, 4];
      const xs = [0, 1, 2, 3, 4].map((k) => input(shape, 30 + k));
      const d = (dim + 3) % 3;
      const outShape = [...shape.slice(0, d), xs.length, ...shape.slice(d)];
      const w = randomArray(numel(outShape), 40 + dim);
      const got = grads(xs, (ts) => stack(ts, dim), w);
      xs.forEach((_, k) => {
        const expected = Float32Array.from(indices(shape), (idx) => w[flatIndex([...idx.slice(0, d), k, ...idx.slice(d)], outShape)]);
        expect(Array.from(got[k]), `stack dim ${dim} input ${k}`).toEqual(Array.from(expected));
      });
    }
  });

  it('indexSelect with repeated and skipped indices: each row sums the weights of every pick of it', () => {
    for (const dim of [0, 1]) {
      const shape = [5, 6];
      const picks = [4, 0, 4, 2, 4, 0];  // 1 and 3 never picked, 4 three times
      const x = input(shape, 50 + dim);
      const outShape = shape.map((v, i) => (i === dim ? picks.length : v));
      const w = randomArray(numel(outShape), 60 + dim);
      const [got] = grads([x], ([t]) => indexSelect(t, dim, picks), w);
      const expected = new Float64Array(numel(shape));
      for (const idx of indices(outShape)) {
        const src = idx.map((v, i) => (i === dim ? picks[v] : v));
        expected[flatIndex(src, shape)] += w[flatIndex(idx, outShape)];
      }
      got.forEach((g, i) => expect(Math.abs(g - expected[i]), `indexSelect dim ${dim} element ${i}`).toBeLessThan(1e-6));
    }
  });

  it('permute and transpose hand each element the weight of where it went', () => {
    const shape = [2, 3, 4];
    const x = input(shape, 70);
    const order = [2, 0, 1];
    const outShape = order.map((d) => shape[d]);
    const w = randomArray(numel(outShape), 71);
    const [got] = grads([x], ([t]) => t.permute(...order), w);
    const expected = Float32Array.from(indices(shape), (idx) => w[flatIndex(order.map((d) => idx[d]), outShape)]);
    expect(Array.from(got)).toEqual(Array.from(expected));
    const y = input([3, 5], 72);
    const wt = randomArray(15, 73);
    const [gt] = grads([y], ([t]) => t.transpose(0, 1), wt);
    expect(Array.from(gt)).toEqual(Array.from(indices([3, 5]), ([i, j]) => wt[j * 3 + i]));
  });

  it('a composite through all of them matches central finite differences of a float64 evaluation', () => {
    // f(a) = Σ w ⊙ tanh(indexSelect(rows, 1, picks)), rows [4, 3] = the two rows of a [2, 3] twice,
    // built through cat, stack, reshape, permute and transpose
    const a0 = randomArray(6, 80);
    const picks = [2, 0, 2];
    const w = randomArray(4 * 3, 81);
    const forward64 = (a: ArrayLike<number>): number => {
      const rows = [[a[0], a[1], a[2]], [a[3], a[4], a[5]], [a[0], a[1], a[2]], [a[3], a[4], a[5]]];
      let total = 0;
      rows.forEach((row, r) => picks.forEach((p, c) => { total += w[r * 3 + c] * Math.tanh(row[p]); }));
      return total;
    };
    const a = tensor(a0, { shape: [2, 3], requiresGrad: true });
    const rows = stack([cat([a, a], 0)], 0).reshape([4, 3]).permute(1, 0).transpose(0, 1);
    const out = indexSelect(rows, 1, picks).tanh();
    out.mul(tensor(w, { shape: [4, 3] })).sum().backward();
    expect(Math.abs(out.mul(tensor(w, { shape: [4, 3] })).sum().item() - forward64(a0))).toBeLessThan(1e-5);
    const numeric = numericGrad(forward64, a0);
    Array.from(a.grad!.toArray()).forEach((g, i) => expect(Math.abs(g - numeric[i]), `a[${i}]`).toBeLessThan(1e-5));
  });
});
