// Trainer on models the native driver does not run: the eager loop (History.executor 'eager')
// for custom Modules, other activations, losses and optimizers, float datasets. It gives the same
// bits as the same loop written by hand, keeps the event loop free, and honours the signal,
// stop() and failing callbacks like the driver path.
import { beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, datasets, manualSeed, nn, optim, Trainer, TensorDataset, type Dataset, type Tensor } from '../dist/index.js';
import { randomArray } from './helpers/reference';

let train: Dataset, test: Dataset;
beforeAll(async () => {
  const mnist = await datasets.mnist();
  train = mnist.train.subset(0, 3000);
  test = mnist.test.subset(0, 1000);
});

// A Sequential inside a custom Module: the same computation, which the native driver does not
// take, so Trainer runs it in the eager loop (the reference the driver is compared with).
class Wrapped extends nn.Module {
  constructor(readonly inner: nn.Sequential) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.inner.forward(x);
  }
}

class Net extends nn.Module {
  fc1 = new nn.Linear(784, 64);
  act = new nn.GELU();
  drop = new nn.Dropout(0.1);
  fc2 = new nn.Linear(64, 10);
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.drop.forward(this.act.forward(this.fc1.forward(x))));
  }
}

describe('Trainer, eager path', () => {
  it('trains a custom Module with Adam on MNIST: loss falls, accuracy and validation are reported', async () => {
    manualSeed(1);
    const model = new Net();
    const trainer = new Trainer(model, { optimizer: new optim.Adam(model.parameters(), { lr: 2e-3 }), loss: new nn.CrossEntropyLoss({ labelSmoothing: 0.05 }) });
    const h = await trainer.fit(train, { epochs: 3, seed: 1, validation: test });
    expect(h.executor).toBe('eager');
    expect(h.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(h.epochs[2].loss).toBeLessThan(h.epochs[0].loss);
    expect(h.epochs[2].valAccuracy).toBeGreaterThan(0.85);
    const ev = await trainer.evaluate(test);
    expect(ev.accuracy).toBeCloseTo(h.epochs[2].valAccuracy!, 6);
    expect(ev.loss).toBeCloseTo(h.epochs[2].valLoss!, 5);
  });

  it('the driver runs Adam, AdamW and RMSprop as the eager loop does', async () => {
    const optimizers: [string, (ps: nn.Parameter[]) => optim.Optimizer<{ lr: number }, { lr: number }>][] = [
      ['Adam', (ps) => new optim.Adam(ps, { lr: 2e-3 })],
      ['AdamW amsgrad', (ps) => new optim.AdamW(ps, { lr: 2e-3, amsgrad: true }) as never],
      ['RMSprop centered momentum', (ps) => new optim.RMSprop(ps, { lr: 1e-3, centered: true, momentum: 0.5 }) as never],
    ];
    for (const [name, makeOpt] of optimizers) {
      const make = () => {
        manualSeed(6);
        return new nn.Sequential(new nn.Linear(784, 32), new nn.ReLU(), new nn.Linear(32, 10));
      };
      const onDriver = make(), eager = make();
      const fit = (model: nn.Module, params: nn.Parameter[]) => new Trainer(model, { optimizer: makeOpt(params), loss: new nn.CrossEntropyLoss() })
        .fit(train.subset(0, 1000), { epochs: 2, seed: 5 });
      const a = await fit(onDriver, onDriver.parameters()), b = await fit(new Wrapped(eager), eager.parameters());
      expect([a.executor, b.executor]).toEqual(['fused', 'eager']);
      a.epochs.forEach((e, k) => expect(Math.abs(e.loss - b.epochs[k].loss), `${name} epoch ${k + 1}`).toBeLessThan(1e-5));
      onDriver.parameters().forEach((p, i) => {
        const q = eager.parameters()[i].toArray();
        const worst = Math.max(...Array.from(p.toArray(), (v, j) => Math.abs(v - q[j])));
        expect(worst, `${name} parameter ${i}`).toBeLessThan(1e-5);
      });
    }
  });

  it('the driver runs Linear stacks with element-wise activations as the eager loop does (every activation)', async () => {
    // The same Sequential on the native driver and wrapped (the eager loop): the same batches,
    // losses within 1e-5, weights within 1e-5.
    for (const act of [() => new nn.LeakyReLU(0.2), () => new nn.Sigmoid(), () => new nn.Tanh(), () => new nn.GELU()]) {
      const make = () => {
        manualSeed(4);
        return new nn.Sequential(new nn.Linear(784, 32), act(), new nn.Linear(32, 16), act(), new nn.Linear(16, 10));
      };
      const onDriver = make(), eager = make();
      const fit = (model: nn.Module) => new Trainer(model, { optimizer: new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }), loss: new nn.CrossEntropyLoss() })
        .fit(train.subset(0, 1000), { epochs: 2, seed: 3 });
      const a = await fit(onDriver), b = await fit(new Wrapped(eager));
      expect([a.executor, b.executor]).toEqual(['fused', 'eager']);
      a.epochs.forEach((e, k) => expect(Math.abs(e.loss - b.epochs[k].loss), `${act().constructor.name} epoch ${k + 1}`).toBeLessThan(1e-5));
      onDriver.parameters().forEach((p, i) => {
        const q = eager.parameters()[i].toArray();
        const worst = Math.max(...Array.from(p.toArray(), (v, j) => Math.abs(v - q[j])));
        expect(worst, `${act().constructor.name} parameter ${i}`).toBeLessThan(1e-5);
      });
    }
  });

  it('the driver runs Linear stacks with plain cross-entropy and any one-group optimizer; a custom Module or a weighted loss go eager', async () => {
    const make = (act: nn.Module) => new nn.Sequential(new nn.Linear(784, 16), act, new nn.Linear(16, 10));
    const run = async (model: nn.Module, loss: { forward(a: Tensor, b: Tensor): Tensor }, adam = false) => {
      const optimizer = adam ? new optim.Adam(model.parameters()) : new optim.SGD(model.parameters(), { lr: 0.05 });
      return (await new Trainer(model, { optimizer, loss }).fit(train.subset(0, 256), { seed: 1 })).executor;
    };
    expect(await run(make(new nn.ReLU()), new nn.CrossEntropyLoss())).toBe('fused');
    expect(await run(make(new nn.Sigmoid()), new nn.CrossEntropyLoss())).toBe('fused');
    expect(await run(new nn.Sequential(new nn.Linear(784, 10), new nn.Softmax(1)), new nn.CrossEntropyLoss())).toBe('eager');
    // The driver's loss reads the last Linear's outputs as logits: an activation after it goes eager.
    expect(await run(new nn.Sequential(new nn.Linear(784, 10), new nn.ReLU()), new nn.CrossEntropyLoss())).toBe('eager');
    expect(await run(make(new nn.ReLU()), new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }))).toBe('eager');
    expect(await run(make(new nn.ReLU()), new nn.CrossEntropyLoss(), true)).toBe('fused');
  });

  it('regression on a TensorDataset with MSELoss and AdamW: the driver for a Sequential, the eager loop for a custom Module, both as the hand-written loop', async () => {
    const n = 512;
    const x = randomArray(n * 3, 7);
    const targets = Float32Array.from({ length: n }, (_, i) => Math.sin(x[3 * i]) + x[3 * i + 1] * x[3 * i + 2]);
    const ds = new TensorDataset({ features: x, featureCount: 3, targets, targetCount: 1 });
    const make = () => {
      manualSeed(5);
      const model = new nn.Sequential(new nn.Linear(3, 32), new nn.Tanh(), new nn.Linear(32, 1));
      return { model, optimizer: new optim.AdamW(model.parameters(), { lr: 0.01 }) };
    };
    const a = make(), c = make();
    const onDriver = new Trainer(a.model, { optimizer: a.optimizer, loss: new nn.MSELoss() });
    const ha = await onDriver.fit(ds, { epochs: 4, batchSize: 32, seed: 9 });
    const hc = await new Trainer(new Wrapped(c.model), { optimizer: c.optimizer, loss: new nn.MSELoss() }).fit(ds, { epochs: 4, batchSize: 32, seed: 9 });
    expect([ha.executor, hc.executor]).toEqual(['fused', 'eager']);
    for (const h of [ha, hc]) {
      expect(h.epochs.every((e) => e.accuracy === null)).toBe(true);
      expect(h.epochs[3].loss).toBeLessThan(h.epochs[0].loss);
    }
    expect((await onDriver.evaluate(ds)).accuracy).toBeNull();

    const b = make();
    const loader = new DataLoader(ds, { batchSize: 32, shuffle: true, seed: 9 });
    const lossFn = new nn.MSELoss();
    for (let e = 0; e < 4; e++) {
      for (const { x: xb, y } of loader) {
        b.optimizer.zeroGrad();
        lossFn.forward(b.model.forward(xb), y).backward();
        b.optimizer.step();
      }
    }
    const values = (m: nn.Module) => m.parameters().map((p) => Array.from(p.toArray()));
    expect(values(c.model)).toEqual(values(b.model)); // the eager loop: bit for bit
    values(a.model).forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - values(b.model)[i][j])).toBeLessThan(1e-5)));
    ha.epochs.forEach((e, k) => expect(Math.abs(e.loss - hc.epochs[k].loss)).toBeLessThan(1e-5));
  });

  it('classification on a TensorDataset runs on the driver (float features, int32 labels) as the eager loop does', async () => {
    const n = 600;
    const x = randomArray(n * 5, 3);
    const labels = Array.from({ length: n }, (_, i) => (x[5 * i] + x[5 * i + 1] > 0 ? 1 : 0) + (x[5 * i + 2] > 0.5 ? 1 : 0));
    const ds = new TensorDataset({ features: x, featureCount: 5, labels });
    const make = () => {
      manualSeed(8);
      return new nn.Sequential(new nn.Linear(5, 16), new nn.ReLU(), new nn.Linear(16, 3));
    };
    const a = make(), b = make();
    const fit = (m: nn.Module) => new Trainer(m, { optimizer: new optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 }), loss: new nn.CrossEntropyLoss() })
      .fit(ds, { epochs: 3, batchSize: 50, seed: 2, validation: ds });
    const ha = await fit(a), hb = await fit(new Wrapped(b));
    expect([ha.executor, hb.executor]).toEqual(['fused', 'eager']);
    ha.epochs.forEach((e, k) => {
      expect(Math.abs(e.loss - hb.epochs[k].loss)).toBeLessThan(1e-5);
      expect(e.accuracy).toBeCloseTo(hb.epochs[k].accuracy!, 6);
      expect(e.valAccuracy).toBeCloseTo(hb.epochs[k].valAccuracy!, 6);
    });
    expect(ha.epochs[2].valAccuracy).toBeGreaterThan(0.7);
  });

  it('keeps the event loop free: a 5 ms timer keeps firing during fit', async () => {
    manualSeed(2);
    const model = new Net();
    const trainer = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), { lr: 0.05 }), loss: new nn.CrossEntropyLoss() });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const start = performance.now();
    await trainer.fit(train, { epochs: 2, seed: 1 });
    const ms = performance.now() - start;
    clearInterval(timer);
    // A blocked loop would give 0 or 1 ticks; a free one about ms / 5 (a loaded machine fewer).
    expect(ticks).toBeGreaterThan(Math.min(10, ms / 50));
  });

  it('honours the AbortSignal, stop() and failing callbacks', async () => {
    manualSeed(3);
    const model = new Net();
    const trainer = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), { lr: 0.05 }), loss: new nn.CrossEntropyLoss() });
    const controller = new AbortController();
    const reason = new Error('enough');
    setTimeout(() => controller.abort(reason), 20);
    await expect(trainer.fit(train, { epochs: 50, seed: 1, signal: controller.signal })).rejects.toBe(reason);
    const h = await trainer.fit(train, { epochs: 5, seed: 1, onEpochEnd: (e) => { if (e.epoch === 2) trainer.stop(); } });
    expect(h.epochs).toHaveLength(2);
    expect(h.stopped).toBe(true);
    const boom = new Error('batch callback failed');
    await expect(trainer.fit(train, { epochs: 3, seed: 1, onBatchEnd: () => Promise.reject(boom) })).rejects.toBe(boom);
  });
});
