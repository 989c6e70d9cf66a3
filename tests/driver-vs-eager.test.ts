// The training driver is the eager path run natively: for Linear/ReLU stacks of any depth, the same
// weights and batches give the same losses and weights both ways.
import { beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, datasets, manualSeed, nn, optim, Trainer, type Dataset } from '../dist/index.js';

let train: Dataset;
beforeAll(async () => {
  ({ train } = await datasets.mnist());
});

function stack(widths: number[]): nn.Sequential {
  const layers: nn.Module[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    layers.push(new nn.Linear(widths[i], widths[i + 1]));
    if (i + 2 < widths.length) layers.push(new nn.ReLU());
  }
  return new nn.Sequential(...layers);
}

const sgd = { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 };
const B = 32;
const STEPS = 6;

describe.each([[[784, 10]], [[784, 64, 32, 10]], [[784, 48, 40, 24, 10]]])('driver = eager for widths %j', (widths) => {
  it(`gives the same ${STEPS} losses and final weights`, async () => {
    manualSeed(11);
    const eagerModel = stack(widths);
    manualSeed(11);
    const driverModel = stack(widths);

    const eagerOpt = new optim.SGD(eagerModel.parameters(), sgd);
    const lossFn = new nn.CrossEntropyLoss();
    const eager: number[] = [];
    for (const { x, y } of new DataLoader(train.subset(0, B * STEPS), { batchSize: B })) {
      const loss = lossFn.forward(eagerModel.forward(x), y);
      eagerOpt.zeroGrad();
      loss.backward();
      eagerOpt.step();
      eager.push(loss.item());
    }

    const trainer = new Trainer(driverModel, { optimizer: new optim.SGD(driverModel.parameters(), sgd), loss: lossFn });
    const driven: number[] = [];
    for (let k = 0; k < STEPS; k++) {
      const h = await trainer.fit(train.subset(B * k, B * k + B), { batchSize: B, shuffle: false });
      driven.push(h.epochs[0].loss);
    }

    driven.forEach((l, i) => expect(Math.abs(l - eager[i]) / eager[i], `step ${i + 1}`).toBeLessThan(1e-5));
    const a = driverModel.parameters().map((p) => Array.from(p.toArray()));
    const b = eagerModel.parameters().map((p) => Array.from(p.toArray()));
    a.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - b[i][j])).toBeLessThan(1e-5)));
  });
});
