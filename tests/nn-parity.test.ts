// Parity of the nn layers, losses and SGD with PyTorch (tests/fixtures/nn, made by
// scripts/make-nn-fixtures.py): from the same initial weights and batches, tinynn's 20 eager steps
// record the losses PyTorch recorded; and every loss module, with each reduction and option, gives
// PyTorch's values and input gradients on fixed inputs.
import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { scaledErr } from './helpers/reference';
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

interface LossCase {
  loss: string;
  options: { reduction: 'mean' | 'sum' | 'none'; weight?: number[]; labelSmoothing?: number; beta?: number };
  input: number[]; inputShape: number[];
  target: number[]; targetShape: number[]; targetDtype: 'int32' | 'float32';
  output: number[]; gradWeight: number[]; inputGrad: number[];
}
const lossCases: LossCase[] = JSON.parse(fs.readFileSync(path.join(fixtures, 'loss-functions.json'), 'utf8')).cases;

function lossModule(c: LossCase): { forward(a: Tensor, b: Tensor): Tensor } {
  const { weight, ...rest } = c.options;
  const options = { ...rest, ...(weight ? { weight: tensor(weight) } : {}) };
  const make: Record<string, () => { forward(a: Tensor, b: Tensor): Tensor }> = {
    CrossEntropyLoss: () => new nn.CrossEntropyLoss(options),
    NLLLoss: () => new nn.NLLLoss(options),
    MSELoss: () => new nn.MSELoss(options),
    L1Loss: () => new nn.L1Loss(options),
    SmoothL1Loss: () => new nn.SmoothL1Loss(options),
    BCEWithLogitsLoss: () => new nn.BCEWithLogitsLoss(options),
    BCELoss: () => new nn.BCELoss(options),
  };
  return make[c.loss]();
}

describe('loss modules against PyTorch', () => {
  it('covers every loss and reduction', () => {
    expect(new Set(lossCases.map((c) => c.loss)).size).toBe(7);
    expect(lossCases.length).toBe(36);
  });

  it.each(lossCases.map((c) => [`${c.loss} ${JSON.stringify(c.options)}`, c] as const))('%s: value and input gradient', (_, c) => {
    const x = tensor(c.input, { shape: c.inputShape, requiresGrad: true });
    const t = tensor(c.target, { shape: c.targetShape, dtype: c.targetDtype });
    const out = lossModule(c).forward(x, t);
    expect(out.size).toBe(c.output.length);
    expect(scaledErr(out.toArray(), c.output, 1e-6)).toBeLessThan(1e-5);
    out.mul(tensor(c.gradWeight, { shape: out.shape })).sum().backward();
    expect(scaledErr(x.grad!.toArray(), c.inputGrad, 1e-6)).toBeLessThan(1e-5);
  });
});
