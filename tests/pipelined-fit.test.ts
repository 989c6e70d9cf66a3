// The training driver's pipelined epoch loop (the next chunk is queued before the previous one's
// losses are read back): what it reports must be what eager training computes step by step, and a
// non-finite loss must be blamed on the step that produced it, not on the chunk being read back.
import { beforeAll, describe, expect, it } from 'vitest';
import { backends, DataLoader, Dataset, datasets, manualSeed, nn, optim, Trainer, type BatchProgress } from '../dist/index.js';

let train: Dataset;
beforeAll(async () => {
  ({ train } = await datasets.mnist());
});

// Wide enough that an epoch takes a few tenths of a second on the CPU, so progress is also reported
// inside epochs (reports are throttled to one per 0.1 s), with a partial last batch.
const HIDDEN = 1024;
const B = 128;
const N = 20_000 + 72;
const EPOCHS = 2;
const SEED = 21;
const sgd = { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 };

function mlp(hidden: number): nn.Sequential {
  manualSeed(3);
  return new nn.Sequential(new nn.Linear(784, hidden), new nn.ReLU(), new nn.Linear(hidden, 10));
}

interface EagerStep {
  loss: number;
  rows: number;
  hits: number;
}

// Eager training over the same shuffled batches: each step's loss, rows and correct predictions.
function eagerEpochs(model: nn.Sequential, data: Dataset): EagerStep[][] {
  const opt = new optim.SGD(model.parameters(), sgd);
  const lossFn = new nn.CrossEntropyLoss();
  const loader = new DataLoader(data, { batchSize: B, shuffle: true, seed: SEED });
  const epochs: EagerStep[][] = [];
  for (let e = 0; e < EPOCHS; e++) {
    const steps: EagerStep[] = [];
    for (const { x, y } of loader) {
      const logits = model.forward(x);
      const loss = lossFn.forward(logits, y);
      const predicted = logits.argmax().toArray();
      const labels = y.toArray();
      let hits = 0;
      for (let i = 0; i < labels.length; i++) hits += predicted[i] === labels[i] ? 1 : 0;
      opt.zeroGrad();
      loss.backward();
      opt.step();
      steps.push({ loss: loss.item(), rows: labels.length, hits });
    }
    epochs.push(steps);
  }
  return epochs;
}

// The running loss and accuracy after `done` steps, summed as the driver sums them.
function runningMeans(steps: EagerStep[], done: number): { loss: number; accuracy: number } {
  let lossSum = 0;
  let hits = 0;
  let seen = 0;
  for (const s of steps.slice(0, done)) {
    lossSum += s.loss * s.rows;
    hits += s.hits;
    seen += s.rows;
  }
  return { loss: lossSum / seen, accuracy: hits / seen };
}

describe('pipelined fit on the CPU', () => {
  it('reports the progress, epoch losses and accuracies, and ends with the weights of eager training', async () => {
    const data = train.subset(0, N);
    const eagerModel = mlp(HIDDEN);
    const eager = eagerEpochs(eagerModel, data);

    const fusedModel = mlp(HIDDEN);
    const trainer = new Trainer(fusedModel, { optimizer: new optim.SGD(fusedModel.parameters(), sgd), loss: new nn.CrossEntropyLoss() });
    const reports: BatchProgress[] = [];
    const history = await trainer.fit(data, { epochs: EPOCHS, batchSize: B, seed: SEED, onBatchEnd: (p) => reports.push(p) });

    const steps = Math.ceil(N / B);
    const progressEvery = Math.floor(steps / 20); // what Trainer asks the driver for
    expect(history.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    for (let e = 0; e < EPOCHS; e++) {
      // The same bits as eager training: same kernels, same order, only the host waits moved.
      const whole = runningMeans(eager[e], steps);
      expect(history.epochs[e].loss).toBe(whole.loss);
      expect(history.epochs[e].accuracy).toBe(whole.accuracy);

      const mine = reports.filter((p) => p.epoch === e + 1);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine[mine.length - 1].step).toBe(steps);
      // Throttled to one report per 0.1 s: an epoch this long has had room for one inside it.
      if (history.epochs[e].seconds >= 0.3) expect(mine.length).toBeGreaterThan(1);
      let previous = 0;
      for (const p of mine) {
        expect(p.step).toBeGreaterThan(previous);
        expect(p.step % progressEvery === 0 || p.step === steps, `step ${p.step}`).toBe(true);
        expect(p.stepsPerEpoch).toBe(steps);
        const expected = runningMeans(eager[e], p.step);
        expect(p.loss, `epoch ${e + 1} step ${p.step}`).toBe(expected.loss);
        expect(p.accuracy, `epoch ${e + 1} step ${p.step}`).toBe(expected.accuracy);
        previous = p.step;
      }
    }
    const fused = fusedModel.parameters().map((p) => Array.from(p.toArray()));
    const reference = eagerModel.parameters().map((p) => Array.from(p.toArray()));
    fused.forEach((w, i) => expect(w, `parameter ${i}`).toEqual(reference[i]));
  });
});

// Blank images train with finite losses; the one sample whose pixels are 255 becomes +inf under
// this normalisation (255 / (255·1e-40) overflows float32), so exactly its step's loss is NaN.
function poisoned(batches: number, badStep: number): Dataset {
  const rows = batches * 32;
  const images = new Uint8Array(rows * 784);
  const bad = (badStep - 1) * 32 + 5;
  images.fill(255, bad * 784, (bad + 1) * 784);
  const labels = Uint8Array.from({ length: rows }, (_, i) => i % 10);
  return new Dataset({ images, labels, features: 784, normalization: { mean: 0, std: 1e-40 } });
}

const devices = backends().cuda ? ['cpu', 'cuda'] : ['cpu'];

describe.each(devices)('a non-finite loss on %s', (device) => {
  // 200 steps: Trainer reports (and CUDA replays chunks) every 10 steps. The bad step comes first,
  // inside a chunk, or last.
  it.each([1, 137, 200])('is reported at the step that produced it (step %i)', async (badStep) => {
    const model = mlp(64);
    model.to(device as 'cpu' | 'cuda');
    const trainer = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), sgd), loss: new nn.CrossEntropyLoss() });
    const reports: BatchProgress[] = [];
    const fit = trainer.fit(poisoned(200, badStep), { epochs: 2, batchSize: 32, shuffle: false, onBatchEnd: (p) => reports.push(p) });
    await expect(fit).rejects.toThrow(new RegExp(`^the loss became NaN at epoch 1, step ${badStep};`));
    // Progress never reaches past the bad step.
    reports.forEach((p) => expect(p.step).toBeLessThan(badStep));
  });
});
