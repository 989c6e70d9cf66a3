// Parity with PyTorch: from the same initial weights and batches, tinynn's first 20 SGD losses
// match those PyTorch recorded (tests/fixtures/parity, made by scripts/make-parity-fixtures.py).
import * as fs from 'fs';
import * as path from 'path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, datasets, load, nn, optim, Trainer, type Dataset } from '../dist/index.js';

const fixtures = path.join(__dirname, 'fixtures', 'parity');
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'losses.json'), 'utf8'));
const runs = Object.entries(expected.runs) as [string, { optimizer: { lr: number; momentum: number; dampening: number; weight_decay: number; nesterov: boolean }; losses: number[] }][];

let train: Dataset;
beforeAll(async () => {
  ({ train } = await datasets.mnist());
});

async function fromFixture(run: (typeof runs)[number][1]) {
  const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
  await load(model, path.join(fixtures, 'init.safetensors'));
  const o = run.optimizer;
  const optimizer = new optim.SGD(model.parameters(), { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weight_decay, nesterov: o.nesterov });
  return { model, optimizer };
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe.each(runs)('PyTorch parity, run %s', (_name, run) => {
  it('eager path: every loss within 1e-4 relative', async () => {
    const { model, optimizer } = await fromFixture(run);
    const lossFn = new nn.CrossEntropyLoss();
    const losses: number[] = [];
    for (const { x, y } of new DataLoader(train.subset(0, 64 * run.losses.length), { batchSize: 64 })) {
      const loss = lossFn.forward(model.forward(x), y);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    }
    expect(losses).toHaveLength(run.losses.length);
    losses.forEach((l, i) => expect(relErr(l, run.losses[i]), `step ${i + 1}: ${l} vs ${run.losses[i]}`).toBeLessThan(1e-4));
  });

  it('training driver: every loss within 1e-4 relative', async () => {
    const { model, optimizer } = await fromFixture(run);
    const trainer = new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss() });
    const losses: number[] = [];
    // One fit per batch: each epoch's loss is then exactly that step's loss, before its update.
    for (let k = 0; k < run.losses.length; k++) {
      const h = await trainer.fit(train.subset(64 * k, 64 * k + 64), { epochs: 1, batchSize: 64, shuffle: false });
      losses.push(h.epochs[0].loss);
    }
    losses.forEach((l, i) => expect(relErr(l, run.losses[i]), `step ${i + 1}: ${l} vs ${run.losses[i]}`).toBeLessThan(1e-4));
  });
});
