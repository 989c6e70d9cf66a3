import type { Tensor } from '../tensor';
import { Linear } from './linear';
import { Module } from './module';
import { ReLU } from './activation';

/** Modules applied in order; parameters are named by position ('0.weight', …) as in PyTorch. */
export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      if (!(m instanceof Module)) throw new TypeError(`Sequential argument ${i} must be an nn.Module, got ${m === null ? 'null' : typeof m}`);
      this.registerModule(String(i), m);
    });
    this.layers = layers;
  }

  /** Runs the layers in order; a Linear followed by a ReLU runs as one fused op. */
  override forward(x: Tensor): Tensor {
    let out = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i];
      if (layer instanceof Linear && this.layers[i + 1] instanceof ReLU) {
        out = layer.forwardFused(out, true);
        i++;
      } else {
        out = layer.forward(out);
      }
    }
    return out;
  }
}
