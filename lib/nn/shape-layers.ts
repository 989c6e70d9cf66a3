// Layers that reshape or pass data through: Flatten, Identity, Dropout.
import { describe } from '../device';
import { native } from '../native';
import { mul } from '../ops/elementwise';
import { flatten } from '../ops/shape';
import { defaultGenerator, type Generator } from '../random';
import { Tensor } from '../tensor';
import { Module } from './module';

/** Merges dimensions startDim..endDim (default: all but the batch dimension). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/** Returns its input. */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}

/** Options for {@link Dropout}. */
export interface DropoutOptions {
  /** The generator of the masks (default: the one {@link manualSeed} seeds). */
  generator?: Generator;
}

/**
 * In training mode, zeroes each element with probability p and scales the rest by 1/(1-p); in
 * eval mode, returns its input. Masks come from a seeded generator, so runs are reproducible.
 */
export class Dropout extends Module {
  private readonly generator: Generator;

  constructor(readonly p = 0.5, options: DropoutOptions = {}) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`Dropout p must be in [0, 1], got ${describe(p)}`);
    this.generator = options.generator ?? defaultGenerator;
  }

  override forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const keep = 1 - this.p;
    // The mask is drawn on x's device under two keys from the generator (cpp/counter_random.h):
    // the same seed gives the same mask on the CPU and on CUDA.
    const scale = keep === 0 ? 0 : 1 / keep;
    const mask = new Tensor(native.ops.bernoulliMask([...x.shape], x.device, keep, scale,
      this.generator.nextUint32(), this.generator.nextUint32()));
    return mul(x, mask);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
