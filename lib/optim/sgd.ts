// optim.SGD: stochastic gradient descent with torch.optim.SGD's semantics.
import { describe } from '../device';
import type { NativeOptimizerOptions } from '../native-types';
import type { Parameter } from '../nn/module';
import { flag, nonNegative, Optimizer, type ParamGroupSpec } from './optimizer';

/** Options for {@link SGD}; names and defaults as in torch.optim.SGD. */
export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** SGD's settings with every default filled in. */
export interface SGDSettings {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/**
 * SGD with optional momentum, dampening, weight decay and Nesterov momentum:
 * g = grad + wd·p; buf = first ? g : μ·buf + (1−dampening)·g; g = nesterov ? g + μ·buf : buf; p −= lr·g.
 *
 * The state (momentum buffers, each parameter's step count) lives in native tensors, which
 * Trainer's native driver reads and advances in place.
 */
export class SGD extends Optimizer<SGDOptions, SGDSettings> {
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupSpec<SGDOptions>>, options: SGDOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`SGD options must be an object, got ${describe(options)}`);
    super('SGD', params, options);
  }

  protected check(o: SGDOptions): SGDSettings {
    const lr = nonNegative('SGD', 'lr', o.lr);
    const momentum = nonNegative('SGD', 'momentum', o.momentum ?? 0);
    const dampening = nonNegative('SGD', 'dampening', o.dampening ?? 0);
    const weightDecay = nonNegative('SGD', 'weightDecay', o.weightDecay ?? 0);
    const nesterov = flag('SGD', 'nesterov', o.nesterov ?? false);
    if (nesterov && (momentum === 0 || dampening !== 0)) throw new RangeError('SGD nesterov needs momentum > 0 and dampening 0');
    return { lr, momentum, dampening, weightDecay, nesterov };
  }

  protected native(s: SGDSettings): NativeOptimizerOptions {
    return { kind: 'sgd', ...s };
  }

  protected stateNames(s: SGDSettings): string[] {
    return s.momentum !== 0 ? ['momentum_buffer'] : [];
  }
}
