// The Trainer's generic path: an eager loop of native ops (forward, loss, backward, optimizer
// step) for any Module, loss and optimizer, on Datasets and TensorDatasets. It yields to the
// event loop every few milliseconds, so timers and I/O keep running during fit, and reads the
// steps' losses back only when it reports progress or ends an epoch.
import { DataLoader } from './data/dataloader';
import type { Dataset } from './data/dataset';
import type { TensorDataset } from './data/tensor-dataset';
import { native } from './native';
import type { Module } from './nn/module';
import type { Optimizer } from './optim/optimizer';
import { noGrad, Tensor } from './tensor';
import type { DeviceSpec } from './device';

/** What the Trainer's loss needs: forward(output, target) → a scalar tensor (mean-reduced for the reported loss). */
export interface TrainerLoss {
  forward(input: Tensor, target: Tensor): Tensor;
}

/** The parts of an eager fit. */
export interface EagerParts {
  model: Module;
  loss: TrainerLoss;
  optimizer: Optimizer<{ lr: number }, { lr: number }> | null;
}

/** One epoch's (or one evaluation's) totals, read from the device. */
export interface EagerTotals {
  loss: number;
  /** null when the targets are not class labels of the output's rows. */
  accuracy: number | null;
  samples: number;
}

/** Hooks of a running eager epoch. */
export interface EagerHooks {
  /** Called about 10 times a second with the running means, and after the epoch's last step. */
  progress(step: number, totals: EagerTotals, seconds: number): void;
  /** Checked before each step: a reason to stop (an abort, a failed callback) is thrown. */
  check(): void;
  /** After each optimizer step (a per-batch learning-rate schedule). */
  afterStep?: () => void;
}

// A step's results, left on the device until a report reads them.
interface PendingStep {
  loss: Tensor;
  correct: Tensor | null;
  rows: number;
}

const YIELD_MS = 8;
const REPORT_MS = 100;

// Running sums of the steps read so far.
class Totals {
  lossSum = 0;
  correct = 0;
  classified = true;
  samples = 0;
  private pending: PendingStep[] = [];

  add(step: PendingStep): void {
    this.pending.push(step);
  }

  read(): EagerTotals {
    for (const p of this.pending) {
      this.lossSum += p.loss.item() * p.rows;
      p.loss.dispose();
      if (p.correct) {
        this.correct += p.correct.toArray<'int32'>()[0];
        p.correct.dispose();
      } else {
        this.classified = false;
      }
      this.samples += p.rows;
    }
    this.pending = [];
    return { loss: this.lossSum / this.samples, accuracy: this.classified ? this.correct / this.samples : null, samples: this.samples };
  }
}

// The number of rows whose largest output is the label, on the device (null unless y holds class
// labels of out's rows).
function correctCount(out: Tensor, y: Tensor): Tensor | null {
  if (y.dtype !== 'int32' || out.shape.length !== 2 || y.shape.length !== 1 || y.shape[0] !== out.shape[0]) return null;
  const { loss, correct } = native.ops.softmaxCrossEntropy(out.native, y.native, false, true);
  loss.dispose();
  return correct ? new Tensor(correct) : null;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Trains one epoch over `loader` (its next epoch); resolves to the epoch's totals. */
export async function eagerEpoch(parts: EagerParts, loader: DataLoader, hooks: EagerHooks): Promise<EagerTotals> {
  const { model, loss: lossFn, optimizer } = parts;
  model.train();
  const totals = new Totals();
  const start = performance.now();
  let lastYield = start, lastReport = start, step = 0, reported = 0;
  for (const { x, y } of loader) {
    hooks.check();
    optimizer?.zeroGrad();
    const out = model.forward(x);
    const loss = lossFn.forward(out, y);
    loss.backward();
    optimizer?.step();
    hooks.afterStep?.();
    totals.add({ loss: loss.detach(), correct: noGrad(() => correctCount(out.detach(), y)), rows: x.shape[0] });
    step++;
    const now = performance.now();
    if (now - lastReport >= REPORT_MS) {
      lastReport = now;
      reported = step;
      hooks.progress(step, totals.read(), (now - start) / 1000);
    }
    if (now - lastYield >= YIELD_MS) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }
  // The epoch's last step is always reported, however short the epoch.
  const sums = totals.read();
  if (step > reported) hooks.progress(step, sums, (performance.now() - start) / 1000);
  return sums;
}

/** Mean loss (and accuracy, for class labels) of the model over `dataset`, in eval mode without gradients. */
export async function eagerEvaluate(parts: EagerParts, dataset: Dataset | TensorDataset, batchSize: number,
  check: () => void = () => {}): Promise<EagerTotals> {
  const { model, loss: lossFn } = parts;
  const wasTraining = model.training;
  model.eval();
  const totals = new Totals();
  let lastYield = performance.now();
  try {
    for (const { x, y } of new DataLoader(dataset, { batchSize, device: model.device as DeviceSpec })) {
      check();
      noGrad(() => {
        const out = model.forward(x);
        totals.add({ loss: lossFn.forward(out, y), correct: correctCount(out, y), rows: x.shape[0] });
      });
      if (performance.now() - lastYield >= YIELD_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return totals.read();
}
