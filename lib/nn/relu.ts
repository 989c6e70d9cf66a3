import { relu } from '../functional';
import type { Tensor } from '../tensor';
import { Module } from './module';

/** max(x, 0), element-wise. Inside a Sequential right after a Linear, it is fused into that layer's GEMM. */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return relu(x);
  }
}
