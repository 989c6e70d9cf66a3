// Matrix products with autograd.
import { native } from '../native';
import { Tensor } from '../tensor';
import { record, requireFloat, requireTensor } from './graph';
import { traced } from './trace';

/**
 * Matrix product: [M, K]·[K, N] → [M, N]; batched [B, M, K]·[B, K, N] → [B, M, N], where a 2-D
 * operand is used for every batch.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireFloat(requireTensor(a, 'matmul', 'a'), 'matmul', 'a');
  requireFloat(requireTensor(b, 'matmul', 'b'), 'matmul', 'b');
  if (a.device !== b.device) throw new TypeError(`matmul: the operands are on ${a.device} and ${b.device}`);
  const y = traced('matmul', [a, b], new Tensor(native.ops.matmul(a.native, b.native, false, false)));
  return record(y, [a, b], (g) => {
    if (!g) return [null, null];
    // dA = g·Bᵀ, dB = Aᵀ·g; an operand shared over the batch gets the sum over it.
    const da = a.requiresGrad || a.gradFn ? batchSum(native.ops.matmul(g.native, b.native, false, true), a) : null;
    const db = b.requiresGrad || b.gradFn ? batchSum(native.ops.matmul(a.native, g.native, true, false), b) : null;
    return [da, db];
  });
}

function batchSum(grad: ReturnType<typeof native.ops.matmul>, input: Tensor): Tensor {
  if (grad.shape.length === input.shape.length) return new Tensor(grad);
  const summed = native.ops.reduce(grad, 'sum', 0, false);
  grad.dispose();
  return new Tensor(summed);
}
