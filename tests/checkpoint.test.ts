// Checkpoints (saveCheckpoint / loadCheckpoint): resuming a 10-epoch Trainer run (SGD with
// momentum, a StepLR stepped per epoch) from its epoch-5 checkpoint ends bit-identical to the
// uninterrupted run on the CPU; so does an eager loop with Adam, a scheduler and dropout (the
// generator's state restored); a checkpoint that does not fit is refused and changes nothing.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { beforeAll, describe, expect, it } from 'vitest';
import { datasets, DataLoader, loadCheckpoint, manualSeed, nn, optim, saveCheckpoint, Trainer, TensorDataset, type Dataset } from '../dist/index.js';
import { randomArray } from './helpers/reference';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-checkpoint-'));
let train: Dataset;
beforeAll(async () => {
  train = (await datasets.mnist()).train.subset(0, 2000);
});
const weights = (model: nn.Module) => model.parameters().map((p) => Array.from(p.toArray()));

function trainerRun() {
  manualSeed(11);
  const model = new nn.Sequential(new nn.Linear(784, 32), new nn.ReLU(), new nn.Linear(32, 10));
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const scheduler = new optim.StepLR(optimizer, { stepSize: 3, gamma: 0.5 });
  return { model, optimizer, scheduler, trainer: new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss() }) };
}

describe('checkpoints', () => {
  it('a Trainer run resumed from its epoch-5 checkpoint ends bit-identical to 10 uninterrupted epochs', async () => {
    const whole = trainerRun();
    const file = path.join(dir, 'trainer-epoch-5.safetensors');
    const history = await whole.trainer.fit(train, { epochs: 10, seed: 3, onEpochEnd: async (e) => {
      whole.scheduler.step();
      if (e.epoch === 5) await saveCheckpoint(file, { model: whole.model, optimizer: whole.optimizer, scheduler: whole.scheduler, epoch: e.epoch });
    } });

    const resumed = trainerRun(); // fresh weights, state and schedule
    const { epoch } = await loadCheckpoint(file, { model: resumed.model, optimizer: resumed.optimizer, scheduler: resumed.scheduler });
    expect(epoch).toBe(5);
    expect(resumed.optimizer.lr).toBe(0.025);
    const rest = await resumed.trainer.fit(train, { epochs: 10, initialEpoch: epoch!, seed: history.seed, onEpochEnd: () => { resumed.scheduler.step(); } });
    expect(rest.epochs.map((e) => e.epoch)).toEqual([6, 7, 8, 9, 10]);
    expect(rest.epochs.map((e) => e.loss)).toEqual(history.epochs.slice(5).map((e) => e.loss));
    expect(weights(resumed.model)).toEqual(weights(whole.model));
  });

  it('an eager loop with Adam, CosineAnnealingLR and dropout resumes bit-identically (generator state included)', async () => {
    const ds = new TensorDataset({ features: randomArray(512 * 8, 5), featureCount: 8, labels: Array.from({ length: 512 }, (_, i) => i % 4) });
    const setup = () => {
      manualSeed(21);
      const model = new nn.Sequential(new nn.Linear(8, 16), new nn.GELU(), new nn.Dropout(0.3), new nn.Linear(16, 4));
      const optimizer = new optim.Adam(model.parameters(), { lr: 0.01, amsgrad: true });
      const scheduler = new optim.CosineAnnealingLR(optimizer, { tMax: 4 });
      return { model, optimizer, scheduler };
    };
    const lossFn = new nn.CrossEntropyLoss();
    const epochOf = (s: ReturnType<typeof setup>, e: number) => {
      // The loader's shuffle is seeded per epoch: a fresh loader at the right epoch resumes it.
      for (const { x, y } of new DataLoader(ds, { batchSize: 64, shuffle: true, seed: 100 + e })) {
        s.optimizer.zeroGrad();
        lossFn.forward(s.model.forward(x), y).backward();
        s.optimizer.step();
      }
      s.scheduler.step();
    };
    const whole = setup();
    const file = path.join(dir, 'eager-epoch-3.safetensors');
    for (let e = 0; e < 6; e++) {
      epochOf(whole, e);
      if (e === 2) await saveCheckpoint(file, { model: whole.model, optimizer: whole.optimizer, scheduler: whole.scheduler, epoch: 3 });
    }
    const resumed = setup();
    manualSeed(999); // the checkpoint's generator state replaces this
    const { epoch } = await loadCheckpoint(file, { model: resumed.model, optimizer: resumed.optimizer, scheduler: resumed.scheduler });
    for (let e = epoch!; e < 6; e++) epochOf(resumed, e);
    expect(weights(resumed.model)).toEqual(weights(whole.model));
  });

  it('keeps scheduler state JSON cannot hold: ReduceLROnPlateau before its first step (best = Infinity)', async () => {
    const a = trainerRun();
    const plateau = new optim.ReduceLROnPlateau(a.optimizer, { patience: 1 });
    const file = path.join(dir, 'plateau.safetensors');
    await saveCheckpoint(file, { model: a.model, optimizer: a.optimizer, scheduler: plateau });
    const b = trainerRun();
    const restored = new optim.ReduceLROnPlateau(b.optimizer, { patience: 1 });
    restored.best = 0;
    await loadCheckpoint(file, { model: b.model, optimizer: b.optimizer, scheduler: restored });
    expect(restored.best).toBe(Infinity);
  });

  it('a checkpoint that does not fit is refused, naming the problem, and nothing changes', async () => {
    const a = trainerRun();
    const file = path.join(dir, 'sgd.safetensors');
    await saveCheckpoint(file, { model: a.model, optimizer: a.optimizer, scheduler: a.scheduler, epoch: 1, extra: { note: 'hi' } });
    expect((await loadCheckpoint(file, { model: trainerRun().model })).extra).toEqual({ note: 'hi' });

    const b = trainerRun();
    b.optimizer.lr = 0.5;
    const before = { w: weights(b.model), lr: b.optimizer.lr, last: b.scheduler.lastEpoch };
    const adam = new optim.Adam(b.model.parameters());
    await expect(loadCheckpoint(file, { model: b.model, optimizer: adam })).rejects.toThrow(/holds SGD state, not Adam/);
    const cosine = new optim.CosineAnnealingLR(b.optimizer, { tMax: 3 });
    await expect(loadCheckpoint(file, { model: b.model, optimizer: b.optimizer, scheduler: cosine })).rejects.toThrow(/holds StepLR state, not CosineAnnealingLR/);
    const other = new nn.Sequential(new nn.Linear(784, 16), new nn.ReLU(), new nn.Linear(16, 10));
    await expect(loadCheckpoint(file, { model: other })).rejects.toThrow(/does not fit the model: tensor '0.weight': shape \[16,784\] expected, \[32,784\] found/);
    const plain = path.join(dir, 'plain.safetensors');
    await (await import('../dist/index.js')).save(b.model, plain);
    await expect(loadCheckpoint(plain, { model: b.model })).rejects.toThrow(/not a tinynn checkpoint/);
    expect(weights(b.model)).toEqual(before.w);
    expect(b.optimizer.lr).toBe(0.5);
  });
});
