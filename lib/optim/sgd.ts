// optim.SGD: stochastic gradient descent with torch.optim.SGD's semantics.
import { describe } from '../device';
import { native } from '../native';
import type { NativeOptimizerOptions, NativeTensor } from '../native-types';
import { Parameter } from '../nn/module';

/** Options for {@link SGD}; names and defaults as in torch.optim.SGD. */
export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * SGD with optional momentum, dampening, weight decay and Nesterov momentum:
 * g = grad + wd·p; buf = first ? g : μ·buf + (1−dampening)·g; g = nesterov ? g + μ·buf : buf; p −= lr·g.
 *
 * The optimizer's state (momentum buffers and each parameter's step count) lives in native
 * tensors, which Trainer's native driver reads and advances in place.
 */
export class SGD {
  readonly params: readonly Parameter[];
  /** The options in force (mutable between steps, like a param group's). */
  readonly options: SGDSettings;
  /** @internal One momentum buffer per param once momentum is used. */
  private momentumBuffers: (NativeTensor | null)[];
  /** @internal int32 cpu [params]: how many updates each param has had (PyTorch's state['step']). */
  readonly steps: NativeTensor;

  constructor(params: Iterable<Parameter>, options: SGDOptions) {
    const list = [...params];
    list.forEach((p, i) => {
      if (!(p instanceof Parameter)) throw new TypeError(`SGD params[${i}] must be a Parameter, got ${describe(p)}`);
    });
    if (list.length === 0) throw new RangeError('SGD got an empty parameter list');
    this.params = list;
    this.options = checkOptions(options);
    this.momentumBuffers = list.map(() => null);
    this.steps = native.Tensor.zeros([list.length], 'int32', 'cpu');
  }

  /** Sets every parameter's gradient to null. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Updates every parameter that has a gradient, in one native call per group of equal step count. */
  step(): void {
    const options = this.nativeOptions();
    const idx = this.params.map((_, i) => i).filter((i) => this.params[i].grad);
    if (idx.length === 0) return;
    native.ops.optimizerStep(idx.map((i) => this.params[i].native), idx.map((i) => (this.params[i].grad as Parameter).native),
      idx.map((i) => this.state(i)), options, this.steps, idx);
  }

  /** @internal The options as the native side takes them (checked again: they may have been edited). */
  nativeOptions(): NativeOptimizerOptions {
    return { kind: 'sgd', ...checkOptions(this.options) };
  }

  /** @internal Param i's state tensors, created or moved to the param's device as needed. */
  state(i: number): NativeTensor[] {
    if (this.options.momentum === 0) return [];
    const p = this.params[i];
    let buf = this.momentumBuffers[i];
    if (buf && buf.device !== p.device) {
      const moved = buf.to(p.device);
      buf.dispose();
      buf = moved;
    }
    buf ??= native.Tensor.zeros([...p.shape], 'float32', p.device);
    this.momentumBuffers[i] = buf;
    return [buf];
  }
}

/** SGD's settings with every default filled in. */
export interface SGDSettings {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

function checkOptions(options: SGDOptions): SGDSettings {
  if (options === null || typeof options !== 'object') throw new TypeError(`SGD options must be an object, got ${describe(options)}`);
  const num = (name: keyof SGDOptions, value: unknown, fallback?: number): number => {
    const v = value === undefined ? fallback : value;
    if (typeof v !== 'number') throw new TypeError(`SGD ${name} must be a number, got ${describe(v)}`);
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`SGD ${name} must be a finite number >= 0, got ${v}`);
    return v;
  };
  const lr = num('lr', options.lr);
  const momentum = num('momentum', options.momentum, 0);
  const dampening = num('dampening', options.dampening, 0);
  const weightDecay = num('weightDecay', options.weightDecay, 0);
  const nesterov = options.nesterov ?? false;
  if (typeof nesterov !== 'boolean') throw new TypeError(`SGD nesterov must be a boolean, got ${describe(nesterov)}`);
  if (nesterov && (momentum === 0 || dampening !== 0)) throw new RangeError('SGD nesterov needs momentum > 0 and dampening 0');
  return { lr, momentum, dampening, weightDecay, nesterov };
}
