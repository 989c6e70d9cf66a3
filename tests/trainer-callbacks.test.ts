// Trainer.fit's callbacks: onEpochEnd may be async and fit waits for it; inside it the weights are
// readable, save() works, an lr change (or a scheduler's step) applies from the next epoch, and
// stop() ends training with the history so far; a callback that throws or rejects rejects fit
// with that error. Running epoch by epoch (with onEpochEnd) gives the same bits as one native run.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, datasets, EarlyStopping, load, manualSeed, nn, optim, save, Trainer, type Dataset } from '../dist/index.js';

let train: Dataset, test: Dataset, full: Dataset;
beforeAll(async () => {
  const mnist = await datasets.mnist();
  full = mnist.train;
  train = mnist.train.subset(0, 1000);
  test = mnist.test.subset(0, 500);
});

function setup(lr = 0.05) {
  manualSeed(3);
  const model = new nn.Sequential(new nn.Linear(784, 32), new nn.ReLU(), new nn.Linear(32, 10));
  const optimizer = new optim.SGD(model.parameters(), { lr, momentum: 0.9 });
  return { model, optimizer, trainer: new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss() }) };
}
const weights = (model: nn.Module) => model.parameters().map((p) => Array.from(p.toArray()));

describe('Trainer.fit callbacks', () => {
  it('epoch by epoch (with onEpochEnd) gives the same history and weights as one native run', async () => {
    const a = setup(), b = setup();
    const whole = await a.trainer.fit(train, { epochs: 3, seed: 7 });
    const seen: number[] = [];
    const stepwise = await b.trainer.fit(train, { epochs: 3, seed: 7, onEpochEnd: (e) => { seen.push(e.epoch); } });
    expect(seen).toEqual([1, 2, 3]);
    expect(stepwise.epochs.map((e) => [e.epoch, e.loss, e.accuracy])).toEqual(whole.epochs.map((e) => [e.epoch, e.loss, e.accuracy]));
    expect(weights(b.model)).toEqual(weights(a.model));
    expect(stepwise.stopped).toBe(false);
  });

  it('waits for an async onEpochEnd before the next epoch; the weights are readable and save() works there', async () => {
    const { model, trainer } = setup();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-callbacks-'));
    const events: string[] = [];
    const saved: number[][][] = [];
    await trainer.fit(train, {
      epochs: 3, seed: 1,
      onBatchEnd: (p) => { if (events[events.length - 1] !== `batch ${p.epoch}`) events.push(`batch ${p.epoch}`); },
      onEpochEnd: async (e) => {
        events.push(`epoch ${e.epoch} start`);
        await new Promise((r) => setTimeout(r, 30));
        await save(model, path.join(dir, `epoch-${e.epoch}.safetensors`));
        saved.push(weights(model));
        events.push(`epoch ${e.epoch} end`);
      },
    });
    expect(events).toEqual(['batch 1', 'epoch 1 start', 'epoch 1 end', 'batch 2', 'epoch 2 start', 'epoch 2 end', 'batch 3', 'epoch 3 start', 'epoch 3 end']);
    // Each checkpoint holds the weights of its epoch.
    const check = setup().model;
    await load(check, path.join(dir, 'epoch-2.safetensors'));
    expect(weights(check)).toEqual(saved[1]);
    expect(saved[1]).not.toEqual(saved[2]);
  });

  it('an lr change in onEpochEnd applies from the next epoch; so does a scheduler step', async () => {
    const { model, optimizer, trainer } = setup();
    let afterFirst: number[][] = [];
    await trainer.fit(train, { epochs: 3, seed: 2, onEpochEnd: (e) => {
      if (e.epoch === 1) {
        optimizer.lr = 0;
        afterFirst = weights(model);
      }
    } });
    // SGD's rule is p -= lr·buf: at lr 0 nothing moves, momentum or not.
    expect(weights(model)).toEqual(afterFirst);

    const a = setup(0.1);
    const scheduler = new optim.StepLR(a.optimizer, { stepSize: 1, gamma: 0.5 });
    const lrs: number[] = [];
    await a.trainer.fit(train, { epochs: 3, seed: 4, onEpochEnd: () => { scheduler.step(); lrs.push(a.optimizer.lr); } });
    expect(lrs).toEqual([0.05, 0.025, 0.0125]);
    expect(weights(a.model)).not.toEqual(weights(setup(0.1).model));
  });

  it('stop() ends training after the current epoch: from onEpochEnd, from onBatchEnd, or through EarlyStopping', async () => {
    const a = setup();
    const h1 = await a.trainer.fit(train, { epochs: 5, seed: 1, onEpochEnd: (e) => { if (e.epoch === 2) a.trainer.stop(); } });
    expect(h1.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(h1.stopped).toBe(true);

    const b = setup();
    let stopped = false;
    const h2 = await b.trainer.fit(full, { epochs: 5, seed: 1, onBatchEnd: () => {
      if (!stopped) {
        stopped = true;
        b.trainer.stop();
      }
    } });
    // Batch progress (about 10 a second) reaches the JS thread a little behind the worker: the
    // stop lands in epoch 1 or 2 of these 60,000-sample epochs.
    expect(h2.epochs.length).toBeLessThanOrEqual(2);
    expect(h2.epochs.map((e) => e.epoch)).toEqual(h2.epochs.map((_, i) => i + 1));
    expect(h2.stopped).toBe(true);
    // A later fit runs normally.
    expect((await b.trainer.fit(train, { epochs: 2, seed: 1 })).epochs).toHaveLength(2);

    const c = setup(2); // an lr this large makes the validation loss worse, not better
    const early = new EarlyStopping({ patience: 2 });
    const h3 = await c.trainer.fit(train, { epochs: 30, seed: 1, validation: test, onEpochEnd: early.callback(c.trainer) });
    expect(h3.stopped).toBe(true);
    expect(h3.epochs.length).toBe(early.bestEpoch + 2);
  });

  it('a callback that throws or rejects rejects fit with that error, and training ends', async () => {
    const a = setup();
    const boom = new Error('epoch callback failed');
    let calls = 0;
    await expect(a.trainer.fit(train, { epochs: 4, seed: 1, onEpochEnd: () => { calls++; throw boom; } })).rejects.toBe(boom);
    expect(calls).toBe(1);
    await expect(a.trainer.fit(train, { epochs: 4, seed: 1, onEpochEnd: async () => { throw boom; } })).rejects.toBe(boom);
    const batchError = new Error('batch callback failed');
    await expect(a.trainer.fit(train, { epochs: 4, seed: 1, onBatchEnd: () => Promise.reject(batchError) })).rejects.toBe(batchError);
    await expect(a.trainer.fit(train, { epochs: 4, seed: 1, onBatchEnd: () => { throw batchError; } })).rejects.toBe(batchError);
    // The trainer is usable afterwards.
    expect((await a.trainer.fit(train, { epochs: 1, seed: 1 })).epochs).toHaveLength(1);
  });
});

describe('Trainer schedulers', () => {
  it('an epoch scheduler given to the Trainer equals stepping it by hand in onEpochEnd; records carry the lr', async () => {
    const a = setup(0.1), b = setup(0.1);
    const withOption = new Trainer(a.model, { optimizer: a.optimizer, loss: new nn.CrossEntropyLoss(), scheduler: new optim.StepLR(a.optimizer, { stepSize: 1, gamma: 0.5 }) });
    const h = await withOption.fit(train, { epochs: 3, seed: 6 });
    expect(h.executor).toBe('fused');
    expect(h.epochs.map((e) => e.lr)).toEqual([0.1, 0.05, 0.025]);
    const byHand = new optim.StepLR(b.optimizer, { stepSize: 1, gamma: 0.5 });
    await b.trainer.fit(train, { epochs: 3, seed: 6, onEpochEnd: () => { byHand.step(); } });
    expect(weights(a.model)).toEqual(weights(b.model));
  });

  it('OneCycleLR steps after every batch (the eager loop) and equals the hand-written loop', async () => {
    const make = () => {
      const s = setup(0.1);
      return { ...s, scheduler: new optim.OneCycleLR(s.optimizer, { maxLr: 0.2, epochs: 2, stepsPerEpoch: Math.ceil(train.length / 64) }) };
    };
    const a = make();
    const h = await new Trainer(a.model, { optimizer: a.optimizer, loss: new nn.CrossEntropyLoss(), scheduler: a.scheduler }).fit(train, { epochs: 2, seed: 8 });
    expect(h.executor).toBe('eager');
    expect(a.scheduler.lastEpoch).toBe(2 * Math.ceil(train.length / 64));
    const b = make();
    const lossFn = new nn.CrossEntropyLoss();
    const loader = new DataLoader(train, { batchSize: 64, shuffle: true, seed: 8, device: 'cpu' });
    for (let e = 0; e < 2; e++) {
      for (const { x, y } of loader) {
        b.optimizer.zeroGrad();
        lossFn.forward(b.model.forward(x), y).backward();
        b.optimizer.step();
        b.scheduler.step();
      }
    }
    expect(weights(a.model)).toEqual(weights(b.model));
  });

  it('ReduceLROnPlateau steps with the validation loss', async () => {
    const { model, optimizer } = setup(0.5); // large enough for the validation loss to get worse once
    const plateau = new optim.ReduceLROnPlateau(optimizer, { patience: 0, factor: 0.5 });
    const h = await new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss(), scheduler: plateau }).fit(train, { epochs: 4, seed: 1, validation: test });
    const lrs = h.epochs.map((e) => e.lr);
    expect(lrs[0]).toBe(0.5);
    expect(lrs[3]).toBeLessThan(0.5);
    // Each reduction follows an epoch whose validation loss was no better than the best before it.
    for (let k = 1; k < lrs.length; k++) {
      const best = Math.min(...h.epochs.slice(0, k - 1).map((e) => e.valLoss!));
      expect(lrs[k] < lrs[k - 1]).toBe(k > 1 && h.epochs[k - 1].valLoss! >= best * (1 - 1e-4));
    }
    expect(plateau.best).toBe(Math.min(...h.epochs.map((e) => e.valLoss!)));
  });
});

describe('EarlyStopping', () => {
  it('counts epochs without an improvement larger than minDelta', () => {
    const e = new EarlyStopping({ patience: 2, minDelta: 0.01 });
    expect([1, 0.5, 0.495, 0.492, 0.3, 0.295, 0.2999].map((v) => e.step(v))).toEqual([false, false, false, true, false, false, true]);
    expect(e.best).toBe(0.3);
    expect(e.bestEpoch).toBe(5);
    const acc = new EarlyStopping({ monitor: 'valAccuracy', patience: 1 });
    expect(acc.mode).toBe('max');
    expect([0.5, 0.6, 0.6].map((v) => acc.step(v))).toEqual([false, false, true]);
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(RangeError);
    expect(() => new EarlyStopping({ monitor: 'val' as never })).toThrow(RangeError);
  });
});

describe('device copies of datasets (issue: reliability II, item 9)', () => {
  it('a dataset changed in place after a fit is uploaded again: evaluate and DataLoader see the new labels', async () => {
    const ds = train.subset(0, 1000);
    const { trainer } = setup();
    await trainer.fit(ds, { epochs: 3, seed: 1 });
    const before = (await trainer.evaluate(ds)).accuracy!;
    expect(before).toBeGreaterThan(0.8);
    for (let i = 0; i < ds.labels.length; i++) ds.labels[i] = (ds.labels[i] + 1) % 10;
    expect((await trainer.evaluate(ds)).accuracy!).toBeLessThan(0.2);
    const first = new DataLoader(ds, { batchSize: 8 })[Symbol.iterator]().next().value!;
    expect(Array.from(first.y.toArray())).toEqual(Array.from(ds.labels.subarray(0, 8)));
    for (let i = 0; i < ds.labels.length; i++) ds.labels[i] = (ds.labels[i] + 9) % 10;
  });
});
