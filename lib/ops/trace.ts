// Op tracing, for exporting a model's computation (ONNX): while a tracer is installed, each op
// reports its name, its tensor inputs, its output and its other arguments. Without one, an op pays
// one null check.
import type { Tensor } from '../tensor';

/** The non-tensor arguments of an op call (a dim, a slope, a shape, a number operand). */
export type OpAttrs = Readonly<Record<string, number | boolean | null | readonly number[]>>;

/** One op call as a tracer sees it. */
export interface OpCall {
  /** The op's name as lib/ops spells it ('add', 'linear', 'softmax', …). */
  op: string;
  /** Its tensor operands, in order. */
  inputs: readonly Tensor[];
  output: Tensor;
  attrs: OpAttrs;
}

let tracer: ((call: OpCall) => void) | null = null;

/** Reports an op call to the tracer, if one is installed; returns `output`. */
export function traced(op: string, inputs: readonly Tensor[], output: Tensor, attrs: OpAttrs = {}): Tensor {
  if (tracer) tracer({ op, inputs, output, attrs });
  return output;
}

/** Runs `fn` with `onOp` told of every op call it makes. Not reentrant. */
export function traceOps<T>(onOp: (call: OpCall) => void, fn: () => T): T {
  if (tracer) throw new Error('traceOps: a trace is already running');
  tracer = onOp;
  try {
    return fn();
  } finally {
    tracer = null;
  }
}
