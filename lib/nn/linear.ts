// nn.Linear: y = x·Wᵀ + b with PyTorch's layout and default initialisation.
import { describe } from '../device';
import { linear } from '../functional';
import { defaultGenerator, type Generator } from '../random';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { Module, Parameter } from './module';

/** Options for {@link Linear}. */
export interface LinearOptions {
  /** Whether the layer has a bias (default true). */
  bias?: boolean;
  /** The generator for initialisation (default: the one {@link manualSeed} seeds). */
  generator?: Generator;
}

/**
 * A fully connected layer: weight [out, in], bias [out], y = x·Wᵀ + b. Initialised as PyTorch
 * does: weight and bias uniform in ±1/√in (kaiming-uniform with a = √5 reduces to that bound).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`Linear ${name} must be an integer, got ${describe(v)}`);
      if (v < 1 || v > 2 ** 24) throw new RangeError(`Linear ${name} must be in [1, 2^24], got ${v}`);
    }
    if (inFeatures * outFeatures > 2 ** 28) {
      throw new RangeError(`Linear(${inFeatures}, ${outFeatures}) would hold ${inFeatures * outFeatures} weights, more than 2^28 (1 GiB of float32)`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const gen = options.generator ?? defaultGenerator;
    const bound = 1 / Math.sqrt(inFeatures);
    const w = gen.uniform(outFeatures * inFeatures, -bound, bound);
    this.weight = this.registerParameter('weight', new Parameter(new native.Tensor(w, [outFeatures, inFeatures], 'cpu'), true)) as Parameter;
    this.bias = options.bias === false ? null
      : (this.registerParameter('bias', new Parameter(new native.Tensor(gen.uniform(outFeatures, -bound, bound), [outFeatures], 'cpu'), true)) as Parameter);
  }

  /** x: [B, inFeatures] → [B, outFeatures]. */
  override forward(x: Tensor): Tensor {
    return this.forwardFused(x, false);
  }

  /** @internal forward with the following ReLU fused into the GEMM epilogue. */
  forwardFused(x: Tensor, relu: boolean): Tensor {
    this.checkInput(x);
    return linear(x, this.weight, this.bias, relu);
  }

  override extraRepr(): string {
    return `in=${this.inFeatures}, out=${this.outFeatures}, bias=${this.bias !== null}`;
  }

  private checkInput(x: Tensor): void {
    const shape = x?.shape;
    if (shape && (shape.length !== 2 || shape[1] !== this.inFeatures)) {
      throw new RangeError(`Linear(${this.inFeatures}, ${this.outFeatures}) expects input of shape [B, ${this.inFeatures}], got [${shape.join(', ')}]`);
    }
  }
}
