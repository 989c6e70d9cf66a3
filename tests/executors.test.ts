// The fused executor against the composed reference, in one process: for every plan the CPU
// fuses (Linear stacks with any element-wise activation between layers, cross-entropy or MSE, u8
// images or float features, SGD with each of its settings, Adam, AdamW, RMSprop), Trainer with
// fusion 'auto' and with fusion 'none' give the same epoch losses, accuracies and final weights,
// bit for bit (the CPU's fused stages repeat the composed operations in the same order).
import { beforeAll, describe, expect, it } from 'vitest';
import { datasets, manualSeed, nn, optim, TensorDataset, Trainer, type Dataset, type SGDOptions } from '../dist/index.js';
import { randomArray } from './helpers/reference';

let train: Dataset;
let test: Dataset;
beforeAll(async () => {
  const mnist = await datasets.mnist();
  train = mnist.train.subset(0, 1000);
  test = mnist.test.subset(0, 300);
});

function stack(widths: number[], relu: boolean): nn.Sequential {
  const layers: nn.Module[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    layers.push(new nn.Linear(widths[i], widths[i + 1]));
    if (relu && i + 2 < widths.length) layers.push(new nn.ReLU());
  }
  return new nn.Sequential(...layers);
}

async function run(widths: number[], relu: boolean, sgd: SGDOptions, fusion: 'auto' | 'none', batchSize: number) {
  manualSeed(5);
  const model = stack(widths, relu);
  const trainer = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), sgd), loss: new nn.CrossEntropyLoss(), fusion });
  const history = await trainer.fit(train, { epochs: 2, batchSize, seed: 3, validation: test });
  return { history, weights: model.parameters().map((p) => Array.from(p.toArray() as Float32Array)) };
}

const plans: [string, number[], boolean][] = [
  ['one Linear layer', [784, 10], true],
  ['784-128-10 with ReLU', [784, 128, 10], true],
  ['784-32-10 without activation', [784, 32, 10], false],
  ['four layers with ReLU', [784, 48, 40, 24, 10], true],
];
const optimizers: [string, SGDOptions][] = [
  ['plain SGD', { lr: 0.05 }],
  ['momentum', { lr: 0.05, momentum: 0.9 }],
  ['Nesterov with weight decay', { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }],
  ['dampened momentum', { lr: 0.05, momentum: 0.5, dampening: 0.3 }],
];

describe.each(plans)('fused = composed: %s', (_, widths, relu) => {
  it.each(optimizers)('with %s: same losses, accuracies and weights, bit for bit', async (__, sgd) => {
    const batch = widths.length === 3 ? 64 : 96; // 1000 = 15·64 + 40 and 10·96 + 40: a partial last batch
    const fused = await run(widths, relu, sgd, 'auto', batch);
    const composed = await run(widths, relu, sgd, 'none', batch);
    expect(fused.history.executor).toBe('fused');
    expect(composed.history.executor).toBe('composed');
    const summary = (h: typeof fused.history) => h.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy]);
    expect(summary(fused.history)).toEqual(summary(composed.history));
    expect(fused.history.epochs[1].loss).toBeLessThan(fused.history.epochs[0].loss);
    fused.weights.forEach((w, i) => {
      const differing = w.findIndex((v, j) => !Object.is(v, composed.weights[i][j]));
      expect(differing, `parameter ${i}: first differing element`).toBe(-1);
    });
  });
});

type AnyOptimizer = optim.Optimizer<{ lr: number }, { lr: number }>;

function sameRuns(a: { history: { executor: string; epochs: { loss: number; accuracy: number | null; valLoss: number | null; valAccuracy: number | null }[] }; weights: number[][] },
  b: typeof a): void {
  expect([a.history.executor, b.history.executor]).toEqual(['fused', 'composed']);
  const summary = (h: typeof a.history) => h.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy]);
  expect(summary(a.history)).toEqual(summary(b.history));
  expect(a.history.epochs.at(-1)!.loss).toBeLessThan(a.history.epochs[0].loss);
  a.weights.forEach((w, i) => {
    const differing = w.findIndex((v, j) => !Object.is(v, b.weights[i][j]));
    expect(differing, `parameter ${i}: first differing element`).toBe(-1);
  });
}

describe('fused = composed beyond ReLU and SGD (CPU)', () => {
  const cases: [string, number[], () => nn.Module, (ps: nn.Parameter[]) => AnyOptimizer][] = [
    ['LeakyReLU(0.2), three layers, Adam', [784, 32, 16, 10], () => new nn.LeakyReLU(0.2), (ps) => new optim.Adam(ps, { lr: 2e-3 }) as never],
    ['Sigmoid, AdamW with amsgrad', [784, 32, 10], () => new nn.Sigmoid(), (ps) => new optim.AdamW(ps, { lr: 2e-3, amsgrad: true }) as never],
    ['Tanh, four layers, centered RMSprop with momentum', [784, 24, 20, 16, 10], () => new nn.Tanh(),
      (ps) => new optim.RMSprop(ps, { lr: 1e-3, centered: true, momentum: 0.5 }) as never],
    ['GELU, three layers (GELU before a middle layer), Nesterov SGD', [784, 32, 16, 10], () => new nn.GELU(),
      (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true }) as never],
    ['GELU, two layers, Adam with L2 weight decay', [784, 48, 10], () => new nn.GELU(), (ps) => new optim.Adam(ps, { lr: 2e-3, weightDecay: 1e-2 }) as never],
    ['one Linear layer, Adam', [784, 10], () => new nn.ReLU(), (ps) => new optim.Adam(ps, { lr: 2e-3 }) as never],
  ];
  const mlp = (widths: number[], act: () => nn.Module) => {
    const layers: nn.Module[] = [];
    for (let i = 0; i + 1 < widths.length; i++) {
      layers.push(new nn.Linear(widths[i], widths[i + 1]));
      if (i + 2 < widths.length) layers.push(act());
    }
    return new nn.Sequential(...layers);
  };

  it.each(cases)('MNIST, %s: same losses, accuracies and weights, bit for bit', async (_, widths, act, makeOptimizer) => {
    const run = async (fusion: 'auto' | 'none') => {
      manualSeed(7);
      const model = mlp(widths, act);
      const trainer = new Trainer(model, { optimizer: makeOptimizer(model.parameters()), loss: new nn.CrossEntropyLoss(), fusion });
      const history = await trainer.fit(train, { epochs: 2, batchSize: 96, seed: 3, validation: test });
      return { history, weights: model.parameters().map((p) => Array.from(p.toArray() as Float32Array)) };
    };
    sameRuns(await run('auto'), await run('none'));
  });

  it('float features: regression with MSE and Adam, classification with int32 labels and AdamW', async () => {
    const n = 500;
    const x = randomArray(n * 6, 21);
    const targets = Float32Array.from({ length: n * 2 }, (_, i) => Math.sin(x[3 * i]) * x[3 * i + 1]);
    const labels = Array.from({ length: n }, (_, i) => (x[6 * i] + x[6 * i + 1] > 0 ? 1 : 0) + (x[6 * i + 2] > 0.5 ? 1 : 0));
    const regression = new TensorDataset({ features: x, featureCount: 6, targets, targetCount: 2 });
    const classification = new TensorDataset({ features: x, featureCount: 6, labels });
    const run = async (fusion: 'auto' | 'none', mse: boolean) => {
      manualSeed(9);
      const model = new nn.Sequential(new nn.Linear(6, 40), new nn.Tanh(), new nn.Linear(40, 24), new nn.GELU(), new nn.Linear(24, mse ? 2 : 3));
      const optimizer = mse ? new optim.Adam(model.parameters(), { lr: 5e-3 }) : new optim.AdamW(model.parameters(), { lr: 5e-3 });
      const ds = mse ? regression : classification;
      const trainer = new Trainer(model, { optimizer, loss: mse ? new nn.MSELoss() : new nn.CrossEntropyLoss(), fusion });
      const history = await trainer.fit(ds, { epochs: 3, batchSize: 48, seed: 4, validation: ds });
      return { history, weights: model.parameters().map((p) => Array.from(p.toArray() as Float32Array)) };
    };
    for (const mse of [true, false]) sameRuns(await run('auto', mse), await run('none', mse));
  });
});
