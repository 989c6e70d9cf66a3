// Training against PyTorch (tests/fixtures/optim/training.json, made by
// scripts/make-training-fixtures.py): a Linear-Tanh-Linear classifier from the same weights on the
// same batches, 30 steps with Adam, AdamW (with and without amsgrad), RMSprop, SGD with
// CosineAnnealingLR and SGD with OneCycleLR. An eager loop's 30 step losses and Trainer.fit's
// epoch losses (means of 10 steps) within 1e-4 of PyTorch's, and the final weights too.
import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { DataLoader, nn, optim, TensorDataset, Trainer } from '../dist/index.js';

interface Case {
  name: string;
  optimizer: 'Adam' | 'AdamW' | 'RMSprop' | 'SGD';
  options: Record<string, unknown>;
  scheduler: { name: 'CosineAnnealingLR' | 'OneCycleLR'; options: Record<string, unknown>; every: 'epoch' | 'step' } | null;
  losses: number[];
  final: Record<string, number[]>;
}
interface Fixture {
  batchSize: number;
  epochs: number;
  features: number[];
  featureCount: number;
  labels: number[];
  initial: Record<string, { shape: number[]; data: number[] }>;
  cases: Case[];
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'optim', 'training.json'), 'utf8')) as Fixture;
const dataset = new TensorDataset({ features: Float32Array.from(fixture.features), featureCount: fixture.featureCount, labels: fixture.labels });
const stepsPerEpoch = fixture.labels.length / fixture.batchSize;

type AnyOptimizer = optim.Optimizer<{ lr: number }, { lr: number }>;

function setup(c: Case) {
  const model = new nn.Sequential(new nn.Linear(fixture.featureCount, 24), new nn.Tanh(), new nn.Linear(24, 4));
  model.loadStateDict(Object.fromEntries(Object.entries(fixture.initial).map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }])));
  const params = model.parameters();
  const optimizer = (c.optimizer === 'Adam' ? new optim.Adam(params, c.options)
    : c.optimizer === 'AdamW' ? new optim.AdamW(params, c.options)
      : c.optimizer === 'RMSprop' ? new optim.RMSprop(params, c.options)
        : new optim.SGD(params, c.options as unknown as optim.SGDOptions)) as unknown as AnyOptimizer;
  const scheduler = c.scheduler === null ? undefined
    : c.scheduler.name === 'CosineAnnealingLR' ? new optim.CosineAnnealingLR(optimizer, c.scheduler.options as { tMax: number })
      : new optim.OneCycleLR(optimizer, c.scheduler.options as unknown as optim.OneCycleLROptions);
  return { model, optimizer, scheduler };
}

function expectWeights(model: nn.Module, c: Case): void {
  for (const [name, t] of Object.entries(model.stateDict())) {
    const got = t.toArray();
    const worst = Math.max(...c.final[name].map((v, i) => Math.abs(v - got[i])));
    expect(worst, `${c.name}: ${name}`).toBeLessThan(1e-4);
  }
}

describe.each(fixture.cases.map((c) => [c.name, c] as const))('training matches PyTorch: %s', (_, c) => {
  it('an eager loop: 30 step losses and the final weights within 1e-4', () => {
    const { model, optimizer, scheduler } = setup(c);
    const lossFn = new nn.CrossEntropyLoss();
    const loader = new DataLoader(dataset, { batchSize: fixture.batchSize, shuffle: false });
    const losses: number[] = [];
    for (let epoch = 0; epoch < fixture.epochs; epoch++) {
      for (const { x, y } of loader) {
        const loss = lossFn.forward(model.forward(x), y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        losses.push(loss.item());
        if (c.scheduler?.every === 'step') scheduler!.step();
      }
      if (c.scheduler?.every === 'epoch') scheduler!.step();
    }
    expect(losses).toHaveLength(c.losses.length);
    losses.forEach((l, i) => expect(Math.abs(l - c.losses[i]), `${c.name} step ${i + 1}`).toBeLessThan(1e-4));
    expectWeights(model, c);
  });

  it('Trainer.fit: epoch losses (means of their steps) and the final weights within 1e-4', async () => {
    const { model, optimizer, scheduler } = setup(c);
    const trainer = new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss(), scheduler });
    const history = await trainer.fit(dataset, { epochs: fixture.epochs, batchSize: fixture.batchSize, shuffle: false });
    // A schedule stepped per batch needs the eager loop; everything else runs on the fused driver.
    expect(history.executor).toBe(c.scheduler?.every === 'step' ? 'eager' : 'fused');
    history.epochs.forEach((e, k) => {
      const steps = c.losses.slice(k * stepsPerEpoch, (k + 1) * stepsPerEpoch);
      const mean = steps.reduce((a, b) => a + b, 0) / steps.length;
      expect(Math.abs(e.loss - mean), `${c.name} epoch ${k + 1}`).toBeLessThan(1e-4);
    });
    expectWeights(model, c);
  });
});
