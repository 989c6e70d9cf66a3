// Loss modules with PyTorch's names, defaults and reductions.
import { describe } from '../device';
import { crossEntropy } from '../functional';
import { native } from '../native';
import { abs, add, clamp, div, log, mul, neg, sub, timesGradient } from '../ops/elementwise';
import { free, record, requireFloat, requireTensor, tracks } from '../ops/graph';
import { logSoftmax, relu, sigmoid } from '../ops/activations';
import { mean, sum } from '../ops/reductions';
import { isGradEnabled, noGrad, Tensor } from '../tensor';

/** How a loss combines its per-element values: their mean (default), their sum, or none (as is). */
export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(loss: string, reduction: unknown): Reduction {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new TypeError(`${loss} reduction must be 'mean', 'sum' or 'none', got ${describe(reduction)}`);
  }
  return reduction;
}

function reduce(values: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return values;
  const out = reduction === 'mean' ? mean(values) : sum(values);
  return out;
}

// d · factor, consuming d.
function scaleOwned(d: Tensor, factor: number): Tensor {
  const out = mul(d, factor);
  d.dispose();
  return out;
}

function checkPair(loss: string, input: Tensor, target: Tensor): void {
  requireFloat(requireTensor(input, loss, 'input'), loss, 'input');
  requireFloat(requireTensor(target, loss, 'target'), loss, 'target');
  if (input.shape.length !== target.shape.length || input.shape.some((d, i) => d !== target.shape[i])) {
    throw new RangeError(`${loss}: input has shape [${input.shape.join(', ')}] but target has [${target.shape.join(', ')}]`);
  }
}

/** Mean (or summed) squared error, as torch.nn.MSELoss. */
export class MSELoss {
  readonly reduction: Reduction;
  constructor(options: { reduction?: Reduction } = {}) {
    this.reduction = checkReduction('MSELoss', options.reduction ?? 'mean');
  }
  /** input and target of one shape → a scalar (or per-element values with reduction 'none'). */
  forward(input: Tensor, target: Tensor): Tensor {
    checkPair('MSELoss', input, target);
    if (this.reduction === 'mean') {
      // One native pass gives the loss and its gradient.
      const tracked = isGradEnabled() && tracks(input);
      const { loss, dpred } = native.ops.mse(input.native, target.native, tracked);
      const out = new Tensor(loss);
      if (!dpred) return out;
      return record(out, [input], (g) => [timesGradient(new Tensor(dpred), g)]);
    }
    const d = sub(input, target);
    const sq = mul(d, d);
    return reduce(sq, this.reduction);
  }
}

/** Mean (or summed) absolute error, as torch.nn.L1Loss. */
export class L1Loss {
  readonly reduction: Reduction;
  constructor(options: { reduction?: Reduction } = {}) {
    this.reduction = checkReduction('L1Loss', options.reduction ?? 'mean');
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkPair('L1Loss', input, target);
    return reduce(abs(sub(input, target)), this.reduction);
  }
}

/** Huber-like loss, as torch.nn.SmoothL1Loss: 0.5·d²/beta where |d| < beta, else |d| - 0.5·beta. */
export class SmoothL1Loss {
  readonly reduction: Reduction;
  readonly beta: number;
  constructor(options: { reduction?: Reduction; beta?: number } = {}) {
    this.reduction = checkReduction('SmoothL1Loss', options.reduction ?? 'mean');
    this.beta = options.beta ?? 1;
    if (typeof this.beta !== 'number' || !(this.beta > 0) || !Number.isFinite(this.beta)) {
      throw new RangeError(`SmoothL1Loss beta must be a finite number > 0, got ${describe(this.beta)}`);
    }
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkPair('SmoothL1Loss', input, target);
    const a = abs(sub(input, target));
    const small = noGrad(() => a.lt(this.beta));
    const large = noGrad(() => small.mul(-1).add(1));
    const quadratic = mul(mul(a, a), 0.5 / this.beta);
    const linear = sub(a, 0.5 * this.beta);
    const values = add(mul(quadratic, small), mul(linear, large));
    return reduce(values, this.reduction);
  }
}

/**
 * Binary cross-entropy of logits against targets in [0, 1], computed stably
 * (max(x, 0) - x·y + log(1 + e^-|x|)), as torch.nn.BCEWithLogitsLoss; gradient sigmoid(x) - y.
 */
export class BCEWithLogitsLoss {
  readonly reduction: Reduction;
  constructor(options: { reduction?: Reduction } = {}) {
    this.reduction = checkReduction('BCEWithLogitsLoss', options.reduction ?? 'mean');
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkPair('BCEWithLogitsLoss', input, target);
    const values = noGrad(() => add(sub(relu(input), mul(input, target)), log(add(neg(abs(input)).exp(), 1))));
    const out = noGrad(() => reduce(values, this.reduction));
    if (out !== values) values.dispose();
    return record(out, [input], (g) => {
      if (!g) return [null];
      const d = noGrad(() => sub(sigmoid(input), target));
      return [timesGradient(this.reduction === 'mean' ? scaleOwned(d, 1 / input.size) : d, g)];
    });
  }
}

/** Binary cross-entropy of probabilities in [0, 1], as torch.nn.BCELoss (logs clamped at -100). */
export class BCELoss {
  readonly reduction: Reduction;
  constructor(options: { reduction?: Reduction } = {}) {
    this.reduction = checkReduction('BCELoss', options.reduction ?? 'mean');
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkPair('BCELoss', input, target);
    const logs = () => [clamp(log(input), -100), clamp(log(add(neg(input), 1)), -100)];
    const values = noGrad(() => {
      const [logP, log1mP] = logs();
      return neg(add(mul(target, logP), mul(add(neg(target), 1), log1mP)));
    });
    const out = noGrad(() => reduce(values, this.reduction));
    if (out !== values) values.dispose();
    // As PyTorch: d/dx = (x - y) / max(x·(1 - x), 1e-12), finite where x is exactly 0 or 1 (the
    // clamped logs' own gradient is 0/0 there); d/dy = log(1 - x) - log(x), both logs clamped.
    return record(out, [input, target], (g) => {
      if (!g) return [null, null];
      return noGrad(() => {
        const scale = (d: Tensor) => timesGradient(this.reduction === 'mean' ? scaleOwned(d, 1 / input.size) : d, g);
        const denom = clamp(mul(input, add(neg(input), 1)), 1e-12);
        const gx = scale(div(sub(input, target), denom));
        free(denom);
        if (!(target.requiresGrad || target.gradFn !== null)) return [gx, null];
        const [logP, log1mP] = logs();
        const gy = scale(sub(log1mP, logP));
        free(logP, log1mP);
        return [gx, gy];
      });
    });
  }
}

/** Options shared by {@link NLLLoss} and {@link CrossEntropyLoss}. */
export interface ClassLossOptions {
  reduction?: Reduction;
  /** A weight per class (float32 [C]); 'mean' then divides by the summed weights of the targets. */
  weight?: Tensor;
}

// One-hot rows of the labels, times their class weight: float32 [B, C] on the input's device, and
// Σ weights of the targets (a 0-d tensor there). Built on the device from the labels: nothing
// waits for a GPU (labels held on the CPU are checked: a RangeError names the first bad one).
function weightedOneHot(op: string, labels: Tensor, input: Tensor, weight: Tensor | null): { mask: Tensor; total: Tensor | number } {
  const [batch, classes] = input.shape;
  requireTensor(labels, op, 'target');
  if (labels.dtype !== 'int32' || labels.shape.length !== 1) {
    throw new TypeError(`${op}: target must be int32 class indices [B], got ${labels.dtype} [${labels.shape.join(', ')}]`);
  }
  // A mask of one row would broadcast over the batch and give a wrong loss silently.
  if (labels.shape[0] !== batch) {
    throw new RangeError(`${op}: input has shape [${input.shape.join(', ')}] but target has [${labels.shape.join(', ')}]: expected ${batch} labels`);
  }
  if (labels.device !== input.device) throw new TypeError(`${op}: input is on ${input.device} but target on ${labels.device}`);
  let oneHot: Tensor;
  try {
    oneHot = new Tensor(native.ops.oneHot(labels.native, classes));
  } catch (err) {
    if (err instanceof RangeError) throw new RangeError(`${op}: ${err.message}`);
    throw err;
  }
  if (!weight) return { mask: oneHot, total: batch };
  const mask = mul(oneHot, weight.reshape(1, classes));
  oneHot.dispose();
  return { mask, total: sum(mask) };
}

function classWeights(op: string, weight: Tensor | undefined, input: Tensor): Tensor | null {
  if (weight === undefined) return null;
  const classes = input.shape[1];
  requireFloat(requireTensor(weight, op, 'weight'), op, 'weight');
  if (weight.shape.length !== 1 || weight.shape[0] !== classes) {
    throw new RangeError(`${op}: weight must have shape [${classes}], got [${weight.shape.join(', ')}]`);
  }
  if (weight.device !== input.device) throw new TypeError(`${op}: input is on ${input.device} but weight on ${weight.device}`);
  return weight;
}

// -Σ_c mask·logp per row, reduced (mean: divided by `total`, Σ weights of the targets).
function maskedNll(logp: Tensor, mask: Tensor, total: Tensor | number, reduction: Reduction): Tensor {
  const perRow = neg(sum(mul(logp, mask), 1));
  if (reduction === 'none') return perRow;
  const s = sum(perRow);
  return reduction === 'sum' ? s : divide(s, total);
}

// x / total, total a count (a number) or Σ weights (a tensor on x's device).
function divide(x: Tensor, total: Tensor | number): Tensor {
  return typeof total === 'number' ? mul(x, 1 / total) : div(x, total);
}

function checkLogits(op: string, input: Tensor): number {
  requireFloat(requireTensor(input, op, 'input'), op, 'input');
  if (input.shape.length !== 2) throw new RangeError(`${op}: input must be [B, C], got [${input.shape.join(', ')}]`);
  return input.shape[1];
}

/** Negative log-likelihood of log-probabilities [B, C] at int32 class targets [B], as torch.nn.NLLLoss. */
export class NLLLoss {
  readonly reduction: Reduction;
  readonly weight?: Tensor;
  constructor(options: ClassLossOptions = {}) {
    this.reduction = checkReduction('NLLLoss', options.reduction ?? 'mean');
    this.weight = options.weight;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkLogits('NLLLoss', input);
    const { mask, total } = weightedOneHot('NLLLoss', target, input, classWeights('NLLLoss', this.weight, input));
    return maskedNll(input, mask, total, this.reduction);
  }
}

/** Options for {@link CrossEntropyLoss}. */
export interface CrossEntropyLossOptions extends ClassLossOptions {
  /** Mixes the one-hot target with the uniform distribution: (1 - ε)·onehot + ε/C. Default 0. */
  labelSmoothing?: number;
}

/**
 * Softmax cross-entropy of logits [B, C] against int32 class targets [B], as
 * torch.nn.CrossEntropyLoss. The default (mean, no weights, no smoothing) runs as one native pass
 * giving the loss and its gradient.
 */
export class CrossEntropyLoss {
  readonly reduction: Reduction;
  readonly weight?: Tensor;
  readonly labelSmoothing: number;
  constructor(options: CrossEntropyLossOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('CrossEntropyLoss options must be an object');
    this.reduction = checkReduction('CrossEntropyLoss', options.reduction ?? 'mean');
    this.weight = options.weight;
    this.labelSmoothing = options.labelSmoothing ?? 0;
    if (typeof this.labelSmoothing !== 'number' || !(this.labelSmoothing >= 0 && this.labelSmoothing <= 1)) {
      throw new RangeError(`CrossEntropyLoss labelSmoothing must be in [0, 1], got ${describe(this.labelSmoothing)}`);
    }
  }

  /** Whether this loss is the plain mean cross-entropy (what the native training driver runs). */
  get isPlain(): boolean {
    return this.reduction === 'mean' && this.weight === undefined && this.labelSmoothing === 0;
  }

  /** logits: float32 [B, C]; target: int32 [B] with values in [0, C). */
  forward(logits: Tensor, target: Tensor): Tensor {
    if (this.isPlain) return crossEntropy(logits, target);
    const classes = checkLogits('CrossEntropyLoss', logits);
    const weight = classWeights('CrossEntropyLoss', this.weight, logits);
    const { mask, total } = weightedOneHot('CrossEntropyLoss', target, logits, weight);
    const logp = logSoftmax(logits, 1);
    const nll = maskedNll(logp, mask, total, this.reduction);
    const eps = this.labelSmoothing;
    if (eps === 0) return nll;
    // The smoothing term: -Σ_c w_c·logp_c / C per row (mean: over the same Σ w_target).
    const weighted = weight ? mul(logp, weight.reshape(1, classes)) : logp;
    const perRow = mul(neg(sum(weighted, 1)), 1 / classes);
    const smooth = this.reduction === 'none' ? perRow : this.reduction === 'sum' ? sum(perRow) : divide(sum(perRow), total);
    return add(mul(nll, 1 - eps), mul(smooth, eps));
  }
}
