// What bench/eager.mjs trains: a custom module the fused training driver does not cover
// (784-256-128-10 with GELU and dropout, written as a user would), and tinynn's side of the
// training and micro-benchmark systems.
import { tinynn } from '../tinynn-package.mjs';

const { nn, optim, DataLoader, noGrad } = tinynn;

export const LR = 0.05;
export const MOMENTUM = 0.9;
export const DROPOUT = 0.2;
export const BATCH = 64;
export const INIT_SEED = 1;
/** Seeds the shuffles and the dropout masks of every system. */
export const TRAIN_SEED = 1000;
export const JOB = `custom module 784-256-128-10, Linear-GELU-Dropout(p ${DROPOUT})-Linear-GELU-Dropout(p ${DROPOUT})-Linear, ` +
  `train mode, CrossEntropyLoss, SGD lr ${LR} momentum ${MOMENTUM}, batch ${BATCH}, MNIST standardised (x = u8·scale + shift), ` +
  `one set of initial weights (tinynn's PyTorch-style init, seed ${INIT_SEED}, handed to PyTorch as a safetensors file)`;

/** The model, as a user writes one: fields for the layers, forward() composing them. */
export class Net extends nn.Module {
  constructor() {
    super();
    this.fc1 = new nn.Linear(784, 256);
    this.fc2 = new nn.Linear(256, 128);
    this.fc3 = new nn.Linear(128, 10);
    this.drop = new nn.Dropout(DROPOUT);
  }

  forward(x) {
    const h1 = this.drop.forward(this.fc1.forward(x).gelu());
    const h2 = this.drop.forward(this.fc2.forward(h1).gelu());
    return this.fc3.forward(h2);
  }
}

/** The shared initial weights, written with tinynn's save() for both sides to load. */
export async function writeInitialWeights(file) {
  tinynn.manualSeed(INIT_SEED);
  const model = new Net();
  await tinynn.save(model, file);
  for (const p of model.parameters()) p.dispose();
}

const now = () => performance.now() / 1000;

/**
 * tinynn's eager loop over a DataLoader, `steps` steps per call, continuing the shuffled epoch
 * where the last call stopped. The batch, logits and loss are disposed at each step (as in
 * bench/systems/tinynn.mjs); the other intermediates are left to backward() and the GC.
 */
export function tinynnTrainSystem({ train, test }) {
  let state = null;
  const nextBatch = () => {
    let r = state.batches.next();
    if (r.done) {
      state.batches = state.loader[Symbol.iterator]();
      r = state.batches.next();
    }
    return r.value;
  };
  const system = {
    name: 'tinynn-cpu-eager',
    description: 'tinynn, eager: class Net extends nn.Module, DataLoader(train, { batchSize, shuffle: true, seed }) + ' +
      'model.forward / lossFn.forward / optimizer.zeroGrad / loss.backward / optimizer.step',
    async prepare(weightsFile) {
      tinynn.manualSeed(TRAIN_SEED);  // the dropout masks
      const model = new Net();
      await tinynn.load(model, weightsFile);
      model.train();
      const loader = new DataLoader(train, { batchSize: BATCH, shuffle: true, seed: TRAIN_SEED });
      state = { model, loader, batches: loader[Symbol.iterator](), lossFn: new nn.CrossEntropyLoss(),
        optimizer: new optim.SGD(model.parameters(), { lr: LR, momentum: MOMENTUM }) };
    },
    /** `steps` steps → { seconds, steps, samples, lastLoss }. */
    async run(steps) {
      const { model, lossFn, optimizer } = state;
      let samples = 0;
      let lastLoss = null;
      const t0 = now();
      for (let i = 0; i < steps; i++) {
        const { x, y } = nextBatch();
        const logits = model.forward(x);
        const loss = lossFn.forward(logits, y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        samples += x.shape[0];
        if (i === steps - 1) lastLoss = loss.item();
        for (const t of [x, y, logits, loss]) t.dispose();
      }
      return { seconds: now() - t0, steps, samples, lastLoss };
    },
    /** The same steps with each phase timed apart: where a step's time goes. */
    phases(steps) {
      const { model, lossFn, optimizer } = state;
      const acc = { batch: 0, forward: 0, loss: 0, zeroGrad: 0, backward: 0, step: 0, dispose: 0 };
      let t = now();
      const lap = (phase) => {
        const t1 = now();
        acc[phase] += t1 - t;
        t = t1;
      };
      const t0 = t;
      for (let i = 0; i < steps; i++) {
        const { x, y } = nextBatch(); lap('batch');
        const logits = model.forward(x); lap('forward');
        const loss = lossFn.forward(logits, y); lap('loss');
        optimizer.zeroGrad(); lap('zeroGrad');
        loss.backward(); lap('backward');
        optimizer.step(); lap('step');
        for (const v of [x, y, logits, loss]) v.dispose();
        lap('dispose');
      }
      return { seconds: now() - t0, steps, phases: acc };
    },
    async evaluate() {
      const { model } = state;
      model.eval();
      let correct = 0;
      let lossSum = 0;
      noGrad(() => {
        for (const { x, y } of new DataLoader(test, { batchSize: 1000 })) {
          const logits = model.forward(x);
          const loss = state.lossFn.forward(logits, y);
          const argmax = logits.argmax(1);
          const pred = argmax.toArray();
          const labels = y.toArray();
          for (let i = 0; i < pred.length; i++) correct += pred[i] === labels[i] ? 1 : 0;
          lossSum += loss.item() * pred.length;
          for (const v of [x, y, logits, loss, argmax]) v.dispose();
        }
      });
      model.train();
      return { accuracy: correct / test.length, loss: lossSum / test.length };
    },
    release() {
      for (const p of state.model.parameters()) p.dispose();
      state = null;
    },
  };
  return system;
}

/**
 * tinynn's micro-benchmark cases on a, b: [rows, cols] with requiresGrad. Each is the loop a user
 * would write; the "dispose" variants free each result at once instead of leaving it to the GC
 * (PyTorch frees by reference count, so it has no such variant).
 */
export const MICRO_CASES = {
  addSumBackward: { label: 'c = a.add(b); c.sum().backward()', peer: 'addSumBackward' },
  addSumBackwardDispose: { label: 'the same, c and c.sum() disposed each iteration', peer: 'addSumBackward' },
  addForward: { label: 'c = a.add(b) (graph recorded: a, b require grad)', peer: 'addForward' },
  addForwardDispose: { label: 'the same, c disposed each iteration', peer: 'addForward' },
  addForwardNoGrad: { label: 'c = a.add(b) inside noGrad / torch.no_grad()', peer: 'addForwardNoGrad' },
};

export function tinynnMicro(rows, cols, seed) {
  const gen = new tinynn.Generator(seed);
  const a = tinynn.randn([rows, cols], { requiresGrad: true, generator: gen });
  const b = tinynn.randn([rows, cols], { requiresGrad: true, generator: gen });
  const loops = {
    addSumBackward(n) {
      for (let i = 0; i < n; i++) {
        const c = a.add(b);
        c.sum().backward();
      }
    },
    addSumBackwardDispose(n) {
      for (let i = 0; i < n; i++) {
        const c = a.add(b);
        const s = c.sum();
        s.backward();
        s.dispose();
        c.dispose();
      }
    },
    addForward(n) {
      for (let i = 0; i < n; i++) a.add(b);
    },
    addForwardDispose(n) {
      for (let i = 0; i < n; i++) a.add(b).dispose();
    },
    addForwardNoGrad(n) {
      noGrad(() => {
        for (let i = 0; i < n; i++) a.add(b);
      });
    },
  };
  return {
    /** Runs `iterations` of `kase` → { seconds, iterations }; the accumulated gradients are then dropped. */
    run(kase, iterations) {
      const t0 = now();
      loops[kase](iterations);
      const seconds = now() - t0;
      for (const t of [a, b]) {
        t.grad?.dispose();
        t.grad = null;
      }
      return { seconds, iterations };
    },
    loops,
    dispose() {
      a.dispose();
      b.dispose();
    },
  };
}
