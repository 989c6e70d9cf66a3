// An eager training step never waits for the device: the loss, the labels, dropout's mask, the
// one-hot targets of the weighted and smoothed losses and the optimizer's state all stay where the
// model is, and nothing is read back until .item() / toArray(). Counted on the CPU: the backends
// count every call that waits for a device queue on CUDA (downloads, synchronize, cudaFree), the
// CPU backend the same calls (native.hostSyncs()), so the count a step costs here is the count it
// costs on a GPU.
import { describe, expect, it } from 'vitest';
import { DataLoader, Generator, nn, optim, TensorDataset, tensor, type Tensor } from '../dist/index.js';
import { native } from '../dist/native.js';
import { randomArray } from './helpers/reference';

const N = 256, F = 20, CLASSES = 3;

class Net extends nn.Module {
  fc1 = new nn.Linear(F, 16);
  act = new nn.GELU();
  drop = new nn.Dropout(0.2, { generator: new Generator(3) });
  fc2 = new nn.Linear(16, CLASSES);
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.drop.forward(this.act.forward(this.fc1.forward(x))));
  }
}

// Waits per phase over one epoch of eager steps.
function countWaits(lossFn: { forward(a: Tensor, b: Tensor): Tensor }, ds: TensorDataset) {
  const model = new Net();
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const waits = { batch: 0, forward: 0, loss: 0, backward: 0, step: 0 };
  const loader = new DataLoader(ds, { batchSize: 32, shuffle: true, seed: 1 });
  let mark = native.hostSyncs();
  const lap = (phase: keyof typeof waits) => {
    const now = native.hostSyncs();
    waits[phase] += now - mark;
    mark = now;
  };
  let last: Tensor | null = null;
  for (const { x, y } of loader) {
    lap('batch');
    opt.zeroGrad();
    const out = model.forward(x);
    lap('forward');
    last = lossFn.forward(out, y);
    lap('loss');
    last.backward();
    lap('backward');
    opt.step();
    lap('step');
  }
  return { waits, last: last! };
}

describe('host synchronisation in eager steps', () => {
  const features = randomArray(N * F, 11, -1, 1);
  const classification = new TensorDataset({ features, featureCount: F, labels: Int32Array.from({ length: N }, (_, i) => i % CLASSES) });
  const regression = new TensorDataset({ features, featureCount: F, targets: randomArray(N * CLASSES, 12, -1, 1), targetCount: CLASSES });
  const cases: [string, { forward(a: Tensor, b: Tensor): Tensor }, TensorDataset][] = [
    ['CrossEntropyLoss', new nn.CrossEntropyLoss(), classification],
    ['CrossEntropyLoss with label smoothing', new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }), classification],
    ['CrossEntropyLoss with class weights', new nn.CrossEntropyLoss({ weight: tensor([1, 2, 0.5]) }), classification],
    ['NLLLoss (sum)', { forward: (a: Tensor, b: Tensor) => new nn.NLLLoss({ reduction: 'sum' }).forward(a.logSoftmax(1), b) }, classification],
    ['MSELoss', new nn.MSELoss(), regression],
    ['SmoothL1Loss', new nn.SmoothL1Loss(), regression],
  ];
  for (const [name, lossFn, ds] of cases) {
    it(`${name}: no waits in 8 steps (batch, forward, loss, backward, SGD step); item() waits once`, () => {
      const { waits, last } = countWaits(lossFn, ds);
      expect(waits).toEqual({ batch: 0, forward: 0, loss: 0, backward: 0, step: 0 });
      const before = native.hostSyncs();
      expect(Number.isFinite(last.item())).toBe(true);
      expect(native.hostSyncs() - before).toBe(1);
    });
  }
});
