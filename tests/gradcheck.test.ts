// Backward of the whole 784-128-10 net against central finite differences of a float64 forward.
import { describe, expect, it } from 'vitest';
import { manualSeed, nn, tensor } from '../dist/index.js';
import { linearRef, randomArray, softmaxXentRef } from './helpers/reference';

// The loss of the net in float64, from explicit parameter arrays.
function lossRef(p: Record<string, Float64Array>, x: Float32Array, labels: Int32Array, B: number): number {
  const h = linearRef(x, p.w1, p.b1, B, 784, 128, true);
  const logits = linearRef(h, p.w2, p.b2, B, 128, 10, false);
  return softmaxXentRef(logits, labels, B, 10).loss;
}

describe('finite-difference gradient check of Linear-ReLU-Linear + cross-entropy', () => {
  it('matches analytic gradients of every parameter tensor', () => {
    manualSeed(7);
    const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
    const B = 8;
    const x = randomArray(B * 784, 11, 0, 1);
    const labels = Int32Array.from({ length: B }, (_, i) => (i * 3) % 10);
    const loss = new nn.CrossEntropyLoss().forward(model.forward(tensor(x, { shape: [B, 784] })), tensor(labels));
    loss.backward();

    const [w1, b1, w2, b2] = model.parameters();
    const params: Record<string, Float64Array> = {
      w1: Float64Array.from(w1.toArray()), b1: Float64Array.from(b1.toArray()),
      w2: Float64Array.from(w2.toArray()), b2: Float64Array.from(b2.toArray()),
    };
    const analytic: Record<string, Float32Array> = {
      w1: w1.grad!.toArray() as Float32Array, b1: b1.grad!.toArray() as Float32Array,
      w2: w2.grad!.toArray() as Float32Array, b2: b2.grad!.toArray() as Float32Array,
    };
    expect(Math.abs(loss.item() - lossRef(params, x, labels, B))).toBeLessThan(1e-5);

    const eps = 1e-4;
    let checked = 0;
    for (const name of ['w1', 'b1', 'w2', 'b2']) {
      const p = params[name];
      // The entries with the largest gradients, plus a spread of others.
      const picks = new Set<number>();
      const byMagnitude = Array.from(analytic[name].keys()).sort((a, b) => Math.abs(analytic[name][b]) - Math.abs(analytic[name][a]));
      byMagnitude.slice(0, 6).forEach((i) => picks.add(i));
      for (let k = 0; k < 6; k++) picks.add(Math.floor((k + 0.5) * p.length / 6));
      for (const i of picks) {
        const orig = p[i];
        p[i] = orig + eps;
        const up = lossRef(params, x, labels, B);
        p[i] = orig - eps;
        const down = lossRef(params, x, labels, B);
        p[i] = orig;
        const numeric = (up - down) / (2 * eps);
        expect(Math.abs(analytic[name][i] - numeric)).toBeLessThan(1e-4 * Math.max(1, Math.abs(numeric)) + 2e-6);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });
});
