// tinynn's two ways to train, on the CPU and on CUDA: the native training driver (Trainer.fit) and
// the eager PyTorch-style loop (DataLoader + forward / backward / step, one native call per op).
import { ADAM_LR, LR, MOMENTUM, SHUFFLE_SEED, tinynnModel } from '../model-spec.mjs';
import { tinynn } from '../tinynn-package.mjs';

const { nn, optim, Trainer, DataLoader } = tinynn;

const now = () => performance.now() / 1000;

/** A model on `device` with the shared initial weights, its optimizer ('sgd' | 'adam') and its loss. */
function freshModel(device, weights, optimizerKind = 'sgd') {
  const model = tinynnModel().to(device);
  model.loadStateDict(weights);
  const optimizer = optimizerKind === 'adam'
    ? new optim.Adam(model.parameters(), { lr: ADAM_LR })
    : new optim.SGD(model.parameters(), { lr: LR, momentum: MOMENTUM });
  return { model, optimizer, loss: new nn.CrossEntropyLoss() };
}

/**
 * Trainer.fit: one fit call per timed epoch, so that epochs interleave with the other systems';
 * the driver keeps its workspace (and on CUDA its captured graphs) between calls.
 */
export function fusedSystem(device, { train, test }, optimizerKind = 'sgd') {
  let trainer = null;
  let batchSize = 0;
  let epoch = 0;
  const adam = optimizerKind === 'adam';
  return {
    name: `tinynn-${device}-fused${adam ? '-adam' : ''}`,
    description: `tinynn on ${device}, native training driver (Trainer.fit, fused executor)${adam ? ', Adam' : ''}`,
    async prepare(b, weights) {
      const { model, optimizer, loss } = freshModel(device, weights, optimizerKind);
      trainer = new Trainer(model, { optimizer, loss });
      batchSize = b;
      epoch = 0;
    },
    async epoch() {
      const t0 = now();
      await trainer.fit(train, { epochs: 1, batchSize, seed: SHUFFLE_SEED + epoch++ });
      return { seconds: now() - t0, samples: train.length };
    },
    async evaluate() {
      return (await trainer.evaluate(test)).accuracy;
    },
    release() {
      for (const p of trainer.model.parameters()) p.dispose();
      trainer = null;
    },
  };
}

/**
 * The eager loop a PyTorch user would write; the batch, logits and loss tensors are disposed at
 * each step rather than left to the GC.
 */
export function eagerSystem(device, { train, test }) {
  let state = null;
  let batchSize = 0;
  let epoch = 0;
  return {
    name: `tinynn-${device}-eager`,
    description: `tinynn on ${device}, eager loop (DataLoader + forward/backward/step)`,
    async prepare(b, weights) {
      state = freshModel(device, weights);
      batchSize = b;
      epoch = 0;
    },
    async epoch() {
      const { model, optimizer, loss: lossFn } = state;
      const t0 = now();
      const loader = new DataLoader(train, { batchSize, shuffle: true, seed: SHUFFLE_SEED + epoch++, device });
      for (const { x, y } of loader) {
        const logits = model.forward(x);
        const loss = lossFn.forward(logits, y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        for (const t of [x, y, logits, loss]) t.dispose();
      }
      // CUDA work is asynchronous: reading one value waits for the epoch's last step.
      if (device !== 'cpu') state.model.parameters().at(-1).toArray();
      return { seconds: now() - t0, samples: train.length };
    },
    async evaluate() {
      return (await new Trainer(state.model, { loss: state.loss }).evaluate(test)).accuracy;
    },
    release() {
      for (const p of state.model.parameters()) p.dispose();
      state = null;
    },
  };
}

/** tinynn's systems on `device` ('cpu' | 'cuda'). */
export function tinynnSystems(device, data) {
  return [fusedSystem(device, data), eagerSystem(device, data), fusedSystem(device, data, 'adam')];
}
