// What every system trains: the 784-128-10 MLP (Linear-ReLU-Linear, softmax cross-entropy, SGD
// with momentum, or Adam for the systems named *-adam) on MNIST standardised with its training mean and std, starting from one set of
// weights (PyTorch's default init drawn by tinynn's seeded generator), so that the systems differ
// only in speed and their test accuracies are comparable.
import { tinynn } from './tinynn-package.mjs';

export const INPUTS = 784;
export const HIDDEN = 128;
export const CLASSES = 10;
export const LR = 0.05;
export const MOMENTUM = 0.9;
/** Adam's settings: PyTorch's defaults (betas 0.9, 0.999, eps 1e-8, no weight decay). */
export const ADAM_LR = 1e-3;
export const INIT_SEED = 1;
/** Seeds the systems' shuffles (tinynn's epoch k uses SHUFFLE_SEED + k; the peers draw from one generator). */
export const SHUFFLE_SEED = 1000;
export const TRAIN_SAMPLES = 60000;

/** A fresh tinynn model of the benchmarked shape (weights from tinynn's default generator). */
export function tinynnModel() {
  const { nn } = tinynn;
  return new nn.Sequential(new nn.Linear(INPUTS, HIDDEN), new nn.ReLU(), new nn.Linear(HIDDEN, CLASSES));
}

/** The shared initial weights as PyTorch state_dict names → { shape, data: Float32Array }. */
export function initialWeights() {
  tinynn.manualSeed(INIT_SEED);
  const model = tinynnModel();
  return Object.fromEntries(Object.entries(model.stateDict()).map(([name, t]) => [name, { shape: [...t.shape], data: t.toArray() }]));
}

/**
 * GEMM FLOPs of one training sample (multiply-add = 2): the forward pass 2·(784·128 + 128·10),
 * the weight gradients the same again, and the input gradient of layer 2 only, 2·128·10 (layer 1's
 * is never needed). Biases, ReLU, softmax and the SGD update are not counted (< 0.5 %).
 */
export const FLOPS_PER_SAMPLE = 2 * 2 * (INPUTS * HIDDEN + HIDDEN * CLASSES) + 2 * HIDDEN * CLASSES;
export const FLOP_COUNT_NOTE = 'GEMM FLOPs only, 2 per multiply-add: forward 2·B·(784·128 + 128·10), weight gradients the same again, ' +
  'input gradient of layer 2 only 2·B·128·10 (none for layer 1); biases, ReLU, softmax and SGD not counted ' +
  `→ ${FLOPS_PER_SAMPLE.toLocaleString('en-US')} FLOPs per sample, ${(FLOPS_PER_SAMPLE * TRAIN_SAMPLES / 1e9).toFixed(2)} GFLOP per 60,000-sample epoch`;

/** The optimizer a system trains with: 'adam' when its name ends in -adam, else 'sgd'. */
export const optimizerOf = (system) => (system.endsWith('-adam') ? 'adam' : 'sgd');
