// The eager PyTorch-style loop learns a separable problem.
import { describe, expect, it } from 'vitest';
import { manualSeed, nn, optim, tensor } from '../dist/index.js';
import { randomArray } from './helpers/reference';

describe('eager training', () => {
  it('200 SGD steps on a separable 4-class problem cut the loss by more than 10x', () => {
    manualSeed(3);
    const [N, D, C, B] = [512, 20, 4, 64];
    const noise = randomArray(N * D, 21, -1, 1);
    const x = new Float32Array(N * D);
    const y = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      y[i] = i % C;
      for (let d = 0; d < D; d++) x[i * D + d] = noise[i * D + d] + (d === y[i] ? 3 : 0);
    }
    const model = new nn.Sequential(new nn.Linear(D, 32), new nn.ReLU(), new nn.Linear(32, C));
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const lossFn = new nn.CrossEntropyLoss();
    const losses: number[] = [];
    for (let step = 0; step < 200; step++) {
      const start = (step * B) % N;
      const xb = tensor(x.subarray(start * D, (start + B) * D), { shape: [B, D] });
      const yb = tensor(y.subarray(start, start + B));
      const loss = lossFn.forward(model.forward(xb), yb);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(first).toBeGreaterThan(0.8);
    expect(last * 10).toBeLessThan(first);
  });
});
