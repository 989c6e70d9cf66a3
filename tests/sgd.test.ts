// optim.SGD against hand-computed torch.optim.SGD updates (float64).
import { describe, expect, it } from 'vitest';
import { nn, optim, tensor } from '../dist/index.js';
import { maxAbsErr, randomArray } from './helpers/reference';

interface Cfg { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }

// torch.optim.SGD's update rule, step by step, in float64.
function sgdRef(p0: Float32Array, grads: Float32Array[], c: Cfg): Float64Array {
  const p = Float64Array.from(p0);
  let buf: Float64Array | null = null;
  for (const g0 of grads) {
    const g = Float64Array.from(g0, (v, i) => v + c.weightDecay * p[i]);
    if (c.momentum !== 0) {
      buf = buf ? buf.map((b, i) => c.momentum * b + (1 - c.dampening) * g[i]) : Float64Array.from(g);
      const d = c.nesterov ? g.map((v, i) => v + c.momentum * buf![i]) : buf;
      d.forEach((v, i) => { p[i] -= c.lr * v; });
    } else {
      g.forEach((v, i) => { p[i] -= c.lr * v; });
    }
  }
  return p;
}

const configs: Cfg[] = [
  { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
  { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
  { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 1e-2, nesterov: false },
  { lr: 0.02, momentum: 0.8, dampening: 0, weightDecay: 5e-3, nesterov: true },
];

describe('optim.SGD', () => {
  for (const cfg of configs) {
    it(`matches PyTorch semantics for ${JSON.stringify(cfg)}`, () => {
      const layer = new nn.Linear(33, 7);
      const w0 = layer.weight.toArray() as Float32Array;
      const opt = new optim.SGD(layer.parameters(), cfg);
      const grads: Float32Array[] = [];
      for (let step = 0; step < 4; step++) {
        const g = randomArray(7 * 33, 100 + step);
        grads.push(g);
        opt.zeroGrad();
        layer.weight.grad = tensor(g, { shape: [7, 33] });
        layer.bias!.grad = tensor(new Float32Array(7), { shape: [7] });
        opt.step();
      }
      expect(maxAbsErr(layer.weight.toArray(), sgdRef(w0, grads, cfg))).toBeLessThan(1e-6);
    });
  }

  it('rejects bad options with clear errors', () => {
    const params = new nn.Linear(2, 2).parameters();
    expect(() => new optim.SGD(params, { lr: NaN })).toThrow(RangeError);
    expect(() => new optim.SGD(params, { lr: -1 })).toThrow(/lr must be a finite number >= 0, got -1/);
    expect(() => new optim.SGD(params, { lr: '0.1' as unknown as number })).toThrow(TypeError);
    expect(() => new optim.SGD(params, { lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum > 0/);
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow(RangeError);
  });
});
