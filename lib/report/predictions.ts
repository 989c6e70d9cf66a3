// The model's class predictions over a dataset, and what the report shows of them: the
// confusion matrix and the most confidently wrong samples.
import { DataLoader } from '../data/dataloader';
import type { Dataset } from '../data/dataset';
import { TensorDataset } from '../data/tensor-dataset';
import type { DeviceSpec } from '../device';
import type { Module } from '../nn/module';
import { softmax } from '../ops/activations';
import { noGrad, tidy } from '../tensor';

/** Each sample's label, the predicted class and its softmax probability. */
export interface Predictions {
  /** The number of classes: the dataset's, or the model's outputs when it has more. */
  classes: number;
  labels: Int32Array;
  predicted: Int32Array;
  /** The softmax probability of the predicted class. */
  confidence: Float32Array;
}

/** One sample the model got wrong. */
export interface WrongPrediction {
  /** Its index in the dataset. */
  index: number;
  label: number;
  predicted: number;
  confidence: number;
}

/** Why a dataset has no class predictions to show (regression targets, outputs that are not [B, C]). */
export interface NoPredictions {
  reason: string;
}

const YIELD_EVERY = 8;

/**
 * Runs the model over `dataset` in eval mode without gradients, batch by batch in the dataset's
 * order, and takes each row's softmax: the class with the largest probability (the first on ties)
 * is the prediction. The model's training mode is restored afterwards.
 */
export async function predict(model: Module, dataset: Dataset | TensorDataset, batchSize = 1000): Promise<Predictions | NoPredictions> {
  const labels = dataset instanceof TensorDataset ? dataset.labels : Int32Array.from(dataset.labels);
  if (!labels) return { reason: 'the dataset holds regression targets, not class labels' };
  const n = dataset.length;
  const predicted = new Int32Array(n);
  const confidence = new Float32Array(n);
  let classes = dataset.numClasses;
  const wasTraining = model.training;
  model.eval();
  try {
    let row = 0, batches = 0;
    for (const { x, y } of new DataLoader(dataset, { batchSize, device: model.device as DeviceSpec })) {
      const rows = x.shape[0];
      let width = 0;
      const probs = tidy(() => noGrad(() => {
        const out = model.forward(x);
        if (out.shape.length !== 2 || out.shape[0] !== rows) return null;
        width = out.shape[1];
        return softmax(out).toArray();
      }));
      x.dispose();
      y.dispose();
      if (!probs) return { reason: `the model's outputs are not one row of class scores per sample ([${rows}, C])` };
      classes = Math.max(classes, width);
      for (let i = 0; i < rows; i++, row++) {
        let best = 0;
        for (let c = 1; c < width; c++) if (probs[i * width + c] > probs[i * width + best]) best = c;
        predicted[row] = best;
        confidence[row] = probs[i * width + best];
      }
      if (++batches % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    model.train(wasTraining);
  }
  return { classes, labels, predicted, confidence };
}

/** counts[label][predicted]: how many samples of each class were predicted as each class. */
export function confusionMatrix(p: Predictions): number[][] {
  const counts = Array.from({ length: p.classes }, () => new Array<number>(p.classes).fill(0));
  p.labels.forEach((label, i) => counts[label][p.predicted[i]]++);
  return counts;
}

/** The `count` wrong predictions with the highest confidence, most confident first (lower index first on ties). */
export function mostConfidentlyWrong(p: Predictions, count: number): WrongPrediction[] {
  const wrong: WrongPrediction[] = [];
  p.labels.forEach((label, index) => {
    if (p.predicted[index] !== label) wrong.push({ index, label, predicted: p.predicted[index], confidence: p.confidence[index] });
  });
  wrong.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  return wrong.slice(0, count);
}
