// Gradient accumulation: repeated backward() calls and a layer used twice in one graph sum their
// gradients, as in PyTorch.
import { describe, expect, it } from 'vitest';
import { crossEntropy, linear, manualSeed, nn, relu, tensor } from '../dist/index.js';
import { maxAbsErr, randomArray } from './helpers/reference';

describe('autograd accumulation', () => {
  it('a second backward() adds to the leaf gradients', () => {
    manualSeed(5);
    const layer = new nn.Linear(6, 4);
    const x = tensor(randomArray(3 * 6, 1), { shape: [3, 6], requiresGrad: true });
    const y = tensor([0, 3, 1], { dtype: 'int32' });
    crossEntropy(layer.forward(relu(x)), y).backward();
    const gx = Float64Array.from(x.grad!.toArray());
    const gw = Float64Array.from(layer.weight.grad!.toArray());
    crossEntropy(layer.forward(relu(x)), y).backward();
    expect(maxAbsErr(x.grad!.toArray(), gx.map((v) => 2 * v))).toBeLessThan(1e-6);
    expect(maxAbsErr(layer.weight.grad!.toArray(), gw.map((v) => 2 * v))).toBeLessThan(1e-6);
  });

  it('a layer applied twice gets the sum of both uses, as two copies of it would', () => {
    manualSeed(6);
    const shared = new nn.Linear(5, 5);
    manualSeed(6);
    const first = new nn.Linear(5, 5);
    manualSeed(6);
    const second = new nn.Linear(5, 5);
    const x = tensor(randomArray(4 * 5, 2), { shape: [4, 5] });
    const y = tensor([0, 1, 2, 4], { dtype: 'int32' });
    crossEntropy(linear(relu(shared.forward(x)), shared.weight, shared.bias), y).backward();
    crossEntropy(second.forward(relu(first.forward(x))), y).backward();
    const sum = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v + b[i]);
    expect(maxAbsErr(shared.weight.grad!.toArray(), sum(first.weight.grad!.toArray(), second.weight.grad!.toArray()))).toBeLessThan(1e-6);
    expect(maxAbsErr(shared.bias!.grad!.toArray(), sum(first.bias!.grad!.toArray(), second.bias!.grad!.toArray()))).toBeLessThan(1e-6);
  });

  // Backward functions hand one gradient tensor to several inputs (a + b passes g to both): each
  // input that keeps it must get its own tensor, never a shared one.
  it('an op that passes one gradient to several inputs gives each its own tensor', () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const b = tensor([4, 5, 6], { requiresGrad: true });
    a.add(b).sum().backward();
    expect(a.grad).not.toBe(b.grad);
    expect(Array.from(a.grad!.toArray())).toEqual([1, 1, 1]);
    a.add(b).mul(2).sum().backward();
    expect(Array.from(a.grad!.toArray())).toEqual([3, 3, 3]);
    expect(Array.from(b.grad!.toArray())).toEqual([3, 3, 3]);
    // The same tensor twice: both uses add up.
    const x = tensor([1, -2], { requiresGrad: true });
    x.add(x).add(x.sub(1)).sum().backward();
    expect(Array.from(x.grad!.toArray())).toEqual([3, 3]);
    // An intermediate that gets the handed-on gradient and is used again.
    const c = a.add(1);
    c.add(c).sum().backward();
    expect(Array.from(a.grad!.toArray())).toEqual([5, 5, 5]);
  });

  // An op that hands its output gradient on unchanged (x + 1) or as a view (reshape) gives the
  // leaf backward()'s seed itself: accumulating into the leaf must never change a later seed.
  it('the seed of ones is never shared with a leaf: repeated backward() through x + 1 or a reshape accumulates', () => {
    const x = tensor([2], { requiresGrad: true });
    for (let k = 1; k <= 3; k++) {
      x.add(1).backward();
      expect(Array.from(x.grad!.toArray())).toEqual([k]);
    }
    const y = tensor([5], { requiresGrad: true });
    y.sub(1).backward();
    expect(Array.from(y.grad!.toArray())).toEqual([1]);
    // A reshape's backward hands on a view of its gradient: a leaf keeping it must not alias the
    // next backward()'s seed.
    const q = tensor([4], { requiresGrad: true });
    q.reshape([1]).backward();
    q.reshape([1]).backward();
    expect(Array.from(q.grad!.toArray())).toEqual([2]);
    const r = tensor([1], { requiresGrad: true });
    r.mul(3).backward();
    expect(Array.from(r.grad!.toArray())).toEqual([3]);
    const z = tensor([[1, 2]], { requiresGrad: true });
    z.sum(1, true).sum(0, true).backward();
    expect(Array.from(z.grad!.toArray())).toEqual([1, 1]);
  });
});
