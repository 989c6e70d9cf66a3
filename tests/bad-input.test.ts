// Bad input gives a TypeError or RangeError naming what was expected and what came; never a crash.
import { describe, expect, it } from 'vitest';
import { DataLoader, Dataset, nn, optim, tensor, Trainer, zeros } from '../dist/index.js';
import { native } from '../dist/native.js';

describe('tensor construction', () => {
  it('rejects wrong element types', () => {
    expect(() => tensor(['a'] as unknown as number[])).toThrow(TypeError);
    expect(() => tensor(new Float64Array(3) as unknown as Float32Array)).toThrow(/Float32Array, Int32Array or Uint8Array, got a Float64Array/);
    expect(() => tensor([1.5], { dtype: 'int32' })).toThrow(/element 0 is 1.5, not a int32 value/);
    expect(() => tensor([300], { dtype: 'uint8' })).toThrow(RangeError);
    expect(() => tensor([1], { dtype: 'float64' as 'float32' })).toThrow(/dtype must be 'float32', 'int32' or 'uint8'/);
  });
  it('rejects zero, negative and mismatched sizes', () => {
    expect(() => tensor([1, 2, 3], { shape: [0, 3] })).toThrow(/shape\[0\] must be in \[1, .*got the number 0/);
    expect(() => tensor([1, 2, 3], { shape: [-1, 3] })).toThrow(RangeError);
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow(/data has 3 elements but shape \[2, 2\] needs 4/);
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => zeros([2.5])).toThrow(TypeError);
  });
  it('rejects unknown devices and names the reason CUDA is missing', () => {
    expect(() => tensor([1], { device: 'gpu' as 'cpu' })).toThrow(/device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'gpu'/);
  });
});

describe('absurd arrays (issue: reliability II, item 13)', () => {
  it('refuses huge or sparse nested arrays and deep nesting up front, naming what is wrong', () => {
    const claims: number[] = [];
    claims.length = 2 ** 32 - 1;
    expect(() => tensor(claims)).toThrow(/shape \[4294967295, …\] has more than 67108864 elements; pass a Float32Array/);
    expect(() => tensor([1, , 3] as number[])).toThrow(/hole at data\[1\]/);
    expect(() => tensor([[1, 2], [3, , ] as number[]])).toThrow(/hole at data\[1\]\[1\]/);
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => tensor(deep as number[])).toThrow(/nested more than 16 deep/);
  });
});

describe('clear errors (issue: reliability II, item 14)', () => {
  it('accepts SharedArrayBuffer-backed arrays; names symbols, BigInts, empty and too-wide datasets and oversized layers', async () => {
    const shared = new Float32Array(new SharedArrayBuffer(16));
    shared[2] = 5;
    expect(Array.from(tensor(shared).toArray())).toEqual([0, 0, 5, 0]);
    const images = new Uint8Array(new SharedArrayBuffer(8));
    images[7] = 9;
    expect(new Dataset({ images, labels: new Uint8Array(2), features: 4 }).length).toBe(2);
    const make = (features: unknown, n = 2) => new Dataset({ images: new Uint8Array(n * 4), labels: new Uint8Array(n), features: features as number });
    expect(() => make(Symbol('f'))).toThrow(/expected features to be an integer in \[1, 2147483647\], got symbol/);
    expect(() => make(4n)).toThrow(/got bigint/);
    expect(() => make(2 ** 31)).toThrow(/got 2147483648/);
    const empty = make(4, 0);
    expect(empty.length).toBe(0);
    const trainer = new Trainer(new nn.Sequential(new nn.Linear(4, 3)), { loss: new nn.CrossEntropyLoss() });
    await expect(trainer.evaluate(empty)).rejects.toThrow(/dataset is empty: it has no samples/);
    expect(() => new nn.Linear(2 ** 24, 2 ** 24)).toThrow(/Linear\(16777216, 16777216\) would hold 281474976710656 weights, more than 2\^28/);
    expect(() => tensor([1], { device: 4n as never })).toThrow(/4n \(a BigInt\)/);
  });

  it('backward() through a disposed parameter names it', () => {
    const m = new nn.Sequential(new nn.Linear(2, 2));
    const out = m.forward(tensor([[1, 2]])).sum();
    m.parameters()[0].dispose();
    expect(() => out.backward()).toThrow(/backward\(\): the linear weight of shape \[2, 2\] has been disposed/);
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2).sum();
    x.dispose();
    expect(() => y.backward()).toThrow(/a tensor of shape \[2\] in the graph \(a parameter or leaf that needs a gradient\) has been disposed/);
  });
});

describe('disposed tensors', () => {
  it('throw a TypeError on use, and dispose twice is harmless', () => {
    const t = tensor([[1, 2]]);
    t.dispose();
    t.dispose();
    expect(() => t.toArray()).toThrow(/disposed tensor/);
    expect(() => new nn.Linear(2, 3).forward(t)).toThrow(TypeError);
  });
});

describe('layers and losses', () => {
  it('Linear names the width it expected and the shape it got', () => {
    const layer = new nn.Linear(784, 10);
    expect(() => layer.forward(zeros([4, 100]))).toThrow(/Linear\(784, 10\) expects input of shape \[B, 784\], got \[4, 100\]/);
    expect(() => layer.forward(zeros([784]))).toThrow(RangeError);
    expect(() => layer.forward(zeros([2, 784], { dtype: 'int32' }))).toThrow(/must be a float32 tensor, got int32/);
    expect(() => layer.forward('x' as never)).toThrow(TypeError);
  });
  it('Linear sizes must be positive integers', () => {
    expect(() => new nn.Linear(0, 5)).toThrow(/inFeatures must be in \[1, 2\^24\], got 0/);
    expect(() => new nn.Linear(5, -2)).toThrow(RangeError);
    expect(() => new nn.Linear(2.5, 3)).toThrow(TypeError);
  });
  it('cross-entropy checks labels (held on the CPU); NaN logits give a NaN loss, as in PyTorch', () => {
    const lossFn = new nn.CrossEntropyLoss();
    const logits = zeros([2, 10]);
    expect(() => lossFn.forward(logits, tensor([1, 10], { dtype: 'int32' }))).toThrow(/labels\[1\] is 10, expected a class in \[0, 10\)/);
    expect(() => lossFn.forward(logits, tensor([1, 2]))).toThrow(/labels must be a int32 tensor, got float32/);
    expect(() => lossFn.forward(logits, tensor([1], { dtype: 'int32' }))).toThrow(/labels must have shape \[2\], got \[1\]/);
    expect(lossFn.forward(tensor([[NaN, 0]]), tensor([0], { dtype: 'int32' })).item()).toBeNaN();
  });
  it('Sequential accepts only modules', () => {
    expect(() => new nn.Sequential(new nn.ReLU(), 3 as never)).toThrow(/Sequential argument 1 must be an nn.Module/);
  });
});

describe('raw native ops', () => {
  it('validate every argument', () => {
    const a = new native.Tensor(new Float32Array(6), [2, 3], 'cpu');
    expect(() => native.ops.gemm(a, a, a, false, false, 1, 0)).toThrow(/inner sizes must match/);
    expect(() => native.ops.gemm(a, a, a, false, true, NaN, 0)).toThrow(/alpha must be a finite number, got the number NaN/);
    expect(() => native.ops.gemm(a, {} as never, a, false, true, 1, 0)).toThrow(/b must be a tensor, got an object/);
    expect(() => native.ops.gatherBatch(new native.Tensor(new Uint8Array(6), [2, 3], 'cpu'), new native.Tensor(new Uint8Array(2), [2], 'cpu'),
      Int32Array.from([0, 2]), 1, 0)).toThrow(/indices\[1\] is 2, expected \[0, 2\)/);
    expect(() => native.ops.permutation(-1, 0, 0)).toThrow(RangeError);
  });
});

describe('data and training options', () => {
  const ds = new Dataset({ images: new Uint8Array(8 * 4), labels: new Uint8Array(8), features: 4 });
  it('DataLoader checks its options', () => {
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/batchSize must be an integer >= 1, got 0/);
    expect(() => new DataLoader(ds, { shuffle: 'yes' as never })).toThrow(TypeError);
  });
  it('Trainer and fit check theirs', async () => {
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 10));
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    expect(() => new Trainer({} as never, { optimizer: opt, loss: new nn.CrossEntropyLoss() })).toThrow(/Trainer needs an nn.Module/);
    expect(() => new Trainer(new nn.Sequential(new nn.ReLU()), { optimizer: opt, loss: new nn.CrossEntropyLoss() })).toThrow(/optimizer holds a parameter that is not the model's/);
    expect(() => new Trainer(model, { optimizer: {} as never, loss: new nn.CrossEntropyLoss() })).toThrow(/must be an optimizer/);
    expect(() => new Trainer(model, { optimizer: opt, loss: 'mse' as never })).toThrow(/must be a loss module/);
    const trainer = new Trainer(model, { optimizer: opt, loss: new nn.CrossEntropyLoss() });
    await expect(trainer.fit(ds, { epochs: 0 })).rejects.toThrow(/epochs must be in \[1, 1000000\], got 0/);
    await expect(trainer.fit(ds, { batchSize: 2.5 })).rejects.toThrow(TypeError);
    await expect(trainer.fit({} as never)).rejects.toThrow(/dataset must be a Dataset/);
    await expect(trainer.fit(ds, { batchSize: 16, dropLast: true })).rejects.toThrow(/fewer than one batch/);
    const wide = new Dataset({ images: new Uint8Array(8 * 5), labels: new Uint8Array(8), features: 5 });
    await expect(trainer.fit(wide)).rejects.toThrow(/5 features per sample but the model's first Linear layer expects 4/);
    // A validation set that does not fit is refused before the first epoch changes the weights.
    const before = model.parameters().map((p) => Array.from(p.toArray()));
    await expect(trainer.fit(ds, { validation: wide })).rejects.toThrow(/fit validation has 5 features per sample but the training set has 4/);
    expect(model.parameters().map((p) => Array.from(p.toArray()))).toEqual(before);
  });
});
