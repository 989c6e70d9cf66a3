// optim.Adam and optim.AdamW with torch.optim's semantics: bias correction, L2 weight decay (Adam)
// or decoupled weight decay (AdamW), amsgrad.
import { describe } from '../device';
import type { NativeOptimizerOptions } from '../native-types';
import type { Parameter } from '../nn/module';
import { coefficient, flag, nonNegative, Optimizer, type ParamGroupSpec } from './optimizer';

/** Options for {@link Adam} and {@link AdamW}; names and defaults as in torch.optim. */
export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Adam: 0 (L2, added to the gradient); AdamW: 0.01 (decoupled: p *= 1 − lr·wd). */
  weightDecay?: number;
  /** Default false. */
  amsgrad?: boolean;
}

/** Adam's settings with every default filled in. */
export interface AdamSettings {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

abstract class AdamBase extends Optimizer<AdamOptions & { lr: number }, AdamSettings> {
  protected constructor(name: string, params: Iterable<Parameter> | Iterable<ParamGroupSpec<AdamOptions>>, options: AdamOptions,
    weightDecay: number, private readonly decoupled: boolean) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${name} options must be an object, got ${describe(options)}`);
    super(name, params as Iterable<Parameter>, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay, amsgrad: false, ...options });
  }

  protected check(o: AdamOptions & { lr: number }): AdamSettings {
    const lr = nonNegative(this.name, 'lr', o.lr);
    const betas = o.betas;
    if (!Array.isArray(betas) || betas.length !== 2) throw new TypeError(`${this.name} betas must be [beta1, beta2], got ${describe(betas)}`);
    const beta1 = coefficient(this.name, 'betas[0]', betas[0]), beta2 = coefficient(this.name, 'betas[1]', betas[1]);
    const eps = nonNegative(this.name, 'eps', o.eps);
    const weightDecay = nonNegative(this.name, 'weightDecay', o.weightDecay);
    const amsgrad = flag(this.name, 'amsgrad', o.amsgrad);
    return { lr, betas: [beta1, beta2], eps, weightDecay, amsgrad };
  }

  protected native(s: AdamSettings): NativeOptimizerOptions {
    return { kind: 'adam', lr: s.lr, beta1: s.betas[0], beta2: s.betas[1], eps: s.eps, weightDecay: s.weightDecay,
      decoupledWeightDecay: this.decoupled, amsgrad: s.amsgrad };
  }

  protected stateNames(s: AdamSettings): string[] {
    return s.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }
}

/**
 * Adam (torch.optim.Adam): m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g², p −= lr/(1−β1ᵗ) ·
 * m / (√v/√(1−β2ᵗ) + eps); weight decay adds wd·p to the gradient; amsgrad uses the largest v so far.
 */
export class Adam extends AdamBase {
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupSpec<AdamOptions>>, options: AdamOptions = {}) {
    super('Adam', params, options, 0, false);
  }
}

/** AdamW (torch.optim.AdamW): Adam with decoupled weight decay, p *= 1 − lr·wd (default wd 0.01). */
export class AdamW extends AdamBase {
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupSpec<AdamOptions>>, options: AdamOptions = {}) {
    super('AdamW', params, options, 0.01, true);
  }
}
