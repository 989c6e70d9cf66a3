// Parity of the nn layers, losses and SGD with PyTorch: from the same initial weights and batches,
// tinynn's 20 eager steps record the losses PyTorch recorded (tests/fixtures/nn, made by
// scripts/make-nn-fixtures.py).
import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { load, nn, optim, tensor, type Tensor } from '../dist/index.js';
import { decodeSafetensors } from '../dist/io/safetensors.js';

const fixtures = path.join(__dirname, 'fixtures', 'nn');
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'losses.json'), 'utf8'));

// The batches file: x [steps, B, F] float32 and y (float32 targets or int32 labels), cut per step.
function batches(name: string): { x: Tensor; y: Tensor }[] {
  const { tensors } = decodeSafetensors(fs.readFileSync(path.join(fixtures, `${name}.batches.safetensors`)), name);
  const x = tensors.get('x')!, y = tensors.get('y')!;
  expect(x.dtype).toBe('F32');
  const xs = new Float32Array(x.bytes.slice().buffer);
  const ys = y.dtype === 'I32' ? new Int32Array(y.bytes.slice().buffer) : new Float32Array(y.bytes.slice().buffer);
  const steps = x.shape[0];
  const xw = xs.length / steps, yw = ys.length / steps;
  return Array.from({ length: steps }, (_, k) => ({
    x: tensor(xs.slice(k * xw, (k + 1) * xw), { shape: x.shape.slice(1) }),
    y: tensor(ys.slice(k * yw, (k + 1) * yw), { shape: y.shape.slice(1) }),
  }));
}

async function train(name: string, model: nn.Module, lossFn: { forward(a: Tensor, b: Tensor): Tensor }, opts: { lr: number; momentum: number }) {
  await load(model, path.join(fixtures, `${name}.init.safetensors`));
  const optimizer = new optim.SGD(model.parameters(), { lr: opts.lr, momentum: opts.momentum });
  const losses: number[] = [];
  for (const { x, y } of batches(name)) {
    optimizer.zeroGrad();
    const loss = lossFn.forward(model.forward(x), y);
    loss.backward();
    optimizer.step();
    losses.push(loss.item());
  }
  return losses;
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

function expectLosses(losses: number[], reference: number[]) {
  expect(reference).toHaveLength(20);
  expect(losses).toHaveLength(reference.length);
  losses.forEach((l, i) => expect(relErr(l, reference[i]), `step ${i + 1}: ${l} vs ${reference[i]}`).toBeLessThan(1e-4));
}

describe('PyTorch parity of nn layers and losses (20 eager SGD steps)', () => {
  it('regression: Linear-Tanh-Linear-Tanh-Linear, MSELoss, SGD momentum 0.9', async () => {
    const run = expected.runs.regression;
    const model = new nn.Sequential(new nn.Linear(3, 16), new nn.Tanh(), new nn.Linear(16, 16), new nn.Tanh(), new nn.Linear(16, 1));
    expectLosses(await train('regression', model, new nn.MSELoss(), run.optimizer), run.losses);
  });

  it('classifier: Linear-GELU-Dropout-Linear in eval mode, CrossEntropyLoss with label smoothing 0.1', async () => {
    const run = expected.runs.classifier;
    const model = new nn.Sequential(new nn.Linear(10, 32), new nn.GELU(), new nn.Dropout(0.2), new nn.Linear(32, 4)).eval();
    expectLosses(await train('classifier', model, new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }), run.optimizer), run.losses);
  });

  it('the classifier in training mode (dropout on) does not match: the check can fail', async () => {
    const run = expected.runs.classifier;
    const model = new nn.Sequential(new nn.Linear(10, 32), new nn.GELU(), new nn.Dropout(0.2), new nn.Linear(32, 4));
    const losses = await train('classifier', model, new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }), run.optimizer);
    expect(Math.max(...losses.map((l, i) => relErr(l, run.losses[i])))).toBeGreaterThan(1e-3);
  });
});
