// optim.RMSprop with torch.optim.RMSprop's semantics.
import { describe } from '../device';
import type { NativeOptimizerOptions } from '../native-types';
import type { Parameter } from '../nn/module';
import { coefficient, flag, nonNegative, Optimizer, type ParamGroupSpec } from './optimizer';

/** Options for {@link RMSprop}; names and defaults as in torch.optim.RMSprop. */
export interface RMSpropOptions {
  /** Default 1e-2. */
  lr?: number;
  /** Smoothing of the squared gradient, default 0.99. */
  alpha?: number;
  /** Default 1e-8. */
  eps?: number;
  /** L2, added to the gradient; default 0. */
  weightDecay?: number;
  /** Default 0. */
  momentum?: number;
  /** Normalise by the variance of the gradient instead of its second moment; default false. */
  centered?: boolean;
}

/** RMSprop's settings with every default filled in. */
export interface RMSpropSettings {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

/**
 * RMSprop: s = α·s + (1−α)·g²; avg = √(s − ḡ²) (centered, ḡ the running mean of g) or √s, plus
 * eps; p −= lr·g/avg, or with momentum b = μ·b + g/avg, p −= lr·b.
 */
export class RMSprop extends Optimizer<RMSpropOptions & { lr: number }, RMSpropSettings> {
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupSpec<RMSpropOptions>>, options: RMSpropOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError(`RMSprop options must be an object, got ${describe(options)}`);
    super('RMSprop', params as Iterable<Parameter>, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...options });
  }

  protected check(o: RMSpropOptions & { lr: number }): RMSpropSettings {
    return {
      lr: nonNegative('RMSprop', 'lr', o.lr),
      alpha: coefficient('RMSprop', 'alpha', o.alpha),
      eps: nonNegative('RMSprop', 'eps', o.eps),
      weightDecay: nonNegative('RMSprop', 'weightDecay', o.weightDecay),
      momentum: nonNegative('RMSprop', 'momentum', o.momentum),
      centered: flag('RMSprop', 'centered', o.centered),
    };
  }

  protected native(s: RMSpropSettings): NativeOptimizerOptions {
    return { kind: 'rmsprop', ...s };
  }

  protected stateNames(s: RMSpropSettings): string[] {
    return ['square_avg', ...(s.momentum !== 0 ? ['momentum_buffer'] : []), ...(s.centered ? ['grad_avg'] : [])];
  }
}
