// The fused executor against the composed reference, in one process: for every plan the backends
// fuse (Linear stacks with ReLU or no activation between layers, cross-entropy, SGD with each of
// its settings), Trainer with fusion 'auto' and with fusion 'none' give the same epoch losses,
// accuracies and final weights, bit for bit (the CPU's fused stages repeat the composed
// operations in the same order).
import { beforeAll, describe, expect, it } from 'vitest';
import { datasets, manualSeed, nn, optim, Trainer, type Dataset, type SGDOptions } from '../dist/index.js';

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
