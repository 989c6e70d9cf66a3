// Recording ops for autograd: an op's output gets a GradFn when gradients are on and an input
// needs one.
import { isGradEnabled, Tensor, type GradFn } from '../tensor';

/** Whether backward() can reach `t` with a gradient to compute. */
export function tracks(t: Tensor): boolean {
  return t.requiresGrad || t.gradFn !== null;
}

/**
 * Makes `out` part of the graph when gradients are recorded and any input is tracked: backward maps
 * the output's gradient to one gradient per input (null where an input needs none).
 */
export function record(out: Tensor, inputs: Tensor[], backward: GradFn['backward']): Tensor {
  if (!isGradEnabled() || !inputs.some(tracks)) return out;
  out.requiresGrad = true;
  out.gradFn = { inputs, backward };
  return out;
}

/** The tensor behind an operand, or a TypeError naming the op and what came. */
export function requireTensor(value: unknown, op: string, what = 'input'): Tensor {
  if (!(value instanceof Tensor)) {
    throw new TypeError(`${op}: ${what} must be a Tensor, got ${value === null ? 'null' : typeof value}`);
  }
  return value;
}

/** A float32 tensor, or a TypeError naming the op and the dtype that came. */
export function requireFloat(t: Tensor, op: string, what = 'input'): Tensor {
  if (t.dtype !== 'float32') throw new TypeError(`${op}: ${what} must be float32, got ${t.dtype}`);
  return t;
}

/** Frees intermediate tensors of a backward pass. */
export function free(...tensors: (Tensor | null | undefined)[]): void {
  for (const t of tensors) t?.dispose();
}
