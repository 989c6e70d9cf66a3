// Activation modules: element-wise functions and the softmax family.
import { describe } from '../device';
import { gelu, leakyRelu, logSoftmax, relu, sigmoid, softmax, tanh } from '../ops/activations';
import type { Tensor } from '../tensor';
import { Module } from './module';

/** max(x, 0), element-wise. Inside a Sequential right after a Linear, it runs in that layer's GEMM. */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** x where x > 0, else negativeSlope·x. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== 'number' || !(negativeSlope >= 0) || !Number.isFinite(negativeSlope)) {
      throw new RangeError(`LeakyReLU negativeSlope must be a finite number >= 0, got ${describe(negativeSlope)}`);
    }
  }
  override forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** 1 / (1 + e⁻ˣ), element-wise. */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** tanh, element-wise. */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** GELU in its exact form, x·Φ(x). */
export class GELU extends Module {
  override forward(x: Tensor): Tensor {
    return gelu(x);
  }
}

/** softmax along `dim` (default: the last). */
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** log(softmax(x)) along `dim` (default: the last). */
export class LogSoftmax extends Module {
  constructor(readonly dim = -1) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return logSoftmax(x, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
