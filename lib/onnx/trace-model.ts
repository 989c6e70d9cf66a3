// Tracing a module's forward pass into a graph of op calls: the model runs on random inputs of two
// batch sizes in eval mode while every op reports itself (ops/trace.ts). Comparing the two runs
// finds the dimensions that follow the batch size, and any value the trace did not see being
// computed from the input (it differs between the runs).
import type { DeviceSpec } from '../device';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { traceOps, type OpAttrs } from '../ops/trace';
import { Generator } from '../random';
import { noGrad, randn, Tensor, tidy } from '../tensor';

/** Where an op's operand comes from. */
export type ValueRef =
  | { kind: 'input' }
  | { kind: 'param'; name: string }
  | { kind: 'const'; index: number }
  | { kind: 'op'; index: number };

/** A tensor the forward pass used that is neither the input, a parameter nor an op's output. */
export interface TracedConstant {
  shape: number[];
  dtype: string;
  data: Float32Array | Int32Array | Uint8Array;
}

/** One op call of the forward pass. */
export interface TracedOp {
  op: string;
  attrs: OpAttrs;
  inputs: ValueRef[];
  /** The module whose forward made the call, for messages: "'fc1' (Linear)". */
  module: string;
  /** The output's shape in the first run. */
  shape: number[];
  /** Per output dimension: whether it follows the batch size. */
  batchDims: boolean[];
}

/** A traced forward pass. */
export interface TracedGraph {
  ops: TracedOp[];
  constants: TracedConstant[];
  output: ValueRef;
  outputShape: number[];
  outputBatchDims: boolean[];
  outputDtype: string;
}

interface Run {
  ops: Omit<TracedOp, 'batchDims'>[];
  constants: TracedConstant[];
  output: ValueRef;
  outputShape: number[];
  outputDtype: string;
}

// Two small batch sizes that differ: the dimensions that differ between the runs are batch ones.
const BATCHES = [2, 3] as const;

/**
 * Traces `model.forward` on inputs of shape [B, ...exampleShape] (B is the batch dimension), in
 * eval mode and without gradients; the model's modes are restored afterwards.
 * @throws what forward throws (with the input shape named); a TypeError naming the op and module
 *   for an op not in `supportedOps`; an Error naming the module when the forward pass computes
 *   something the trace cannot follow.
 */
export function traceModel(model: Module, exampleShape: readonly number[], supportedOps: readonly string[], what: string): TracedGraph {
  const modules = model.namedModules();
  const modes = modules.map(([, m]) => m.training);
  model.eval();
  try {
    const runs = BATCHES.map((batch, i) => runOnce(model, [batch, ...exampleShape], i, new Set(supportedOps), what));
    return merge(runs[0], runs[1], what);
  } finally {
    modules.forEach(([, m], i) => { m.training = modes[i]; });
  }
}

function moduleLabel(name: string, m: Module): string {
  return name === '' ? `the model (${m.constructor.name})` : `module '${name}' (${m.constructor.name})`;
}

// Wraps forward (and Linear's fused forward, which Sequential calls instead) of every module to
// keep a stack of the modules running; returns the function that undoes it.
function watchModules(model: Module, stack: string[]): () => void {
  const undo: (() => void)[] = [];
  const seen = new Set<Module>();
  for (const [name, m] of model.namedModules()) {
    if (seen.has(m)) continue;
    seen.add(m);
    const label = moduleLabel(name, m);
    const methods: ('forward' | 'forwardFused')[] = m instanceof Linear ? ['forward', 'forwardFused'] : ['forward'];
    for (const method of methods) {
      const target = m as unknown as Record<string, unknown>;
      const hadOwn = Object.hasOwn(target, method);
      const own = target[method];
      const inner = target[method] as (...args: unknown[]) => unknown;
      target[method] = (...args: unknown[]) => {
        stack.push(label);
        try {
          return inner.apply(m, args);
        } finally {
          stack.pop();
        }
      };
      undo.push(() => {
        if (hadOwn) target[method] = own;
        else delete target[method];
      });
    }
  }
  return () => undo.forEach((u) => u());
}

function runOnce(model: Module, shape: number[], seed: number, supported: ReadonlySet<string>, what: string): Run {
  const params = new Map<Tensor, string>(model.namedParameters().map(([n, p]) => [p, n]));
  const stack: string[] = [];
  const unwatch = watchModules(model, stack);
  try {
    return noGrad(() => tidy(() => {
      const x = randn(shape, { device: model.device as DeviceSpec, generator: new Generator(0x5eed + seed) });
      const refs = new Map<Tensor, ValueRef>([[x, { kind: 'input' }]]);
      const run: Run = { ops: [], constants: [], output: { kind: 'input' }, outputShape: [], outputDtype: '' };
      const refOf = (t: Tensor): ValueRef => {
        let ref = refs.get(t);
        if (ref) return ref;
        const name = params.get(t);
        if (name !== undefined) {
          ref = { kind: 'param', name };
        } else {
          ref = { kind: 'const', index: run.constants.length };
          run.constants.push({ shape: [...t.shape], dtype: t.dtype, data: t.toArray() });
        }
        refs.set(t, ref);
        return ref;
      };
      let out: unknown;
      let refusal: TypeError | null = null;
      try {
        out = traceOps((call) => {
          const module = stack[stack.length - 1] ?? moduleLabel('', model);
          if (!supported.has(call.op)) {
            refusal = new TypeError(`${what}: op '${call.op}' in ${module} has no ONNX export; the ops that export are ${[...supported].join(', ')}`);
            throw refusal;
          }
          const inputs = call.inputs.map(refOf);
          refs.set(call.output, { kind: 'op', index: run.ops.length });
          run.ops.push({
            op: call.op, attrs: call.attrs, inputs, shape: [...call.output.shape], module,
          });
        }, () => model.forward(x));
      } catch (err) {
        if (err === refusal) throw err;
        throw rethrow(err, `${what}: forward failed on an input of shape [${shape.join(', ')}]`);
      }
      if (!(out instanceof Tensor)) throw new TypeError(`${what}: forward must return a Tensor, got ${out === null ? 'null' : typeof out}`);
      run.output = refOf(out);
      run.outputShape = [...out.shape];
      run.outputDtype = out.dtype;
      return run;
    }));
  } finally {
    unwatch();
  }
}

function rethrow(err: unknown, prefix: string): Error {
  if (!(err instanceof Error)) return new Error(`${prefix}: ${String(err)}`);
  const ErrorType = err instanceof TypeError ? TypeError : err instanceof RangeError ? RangeError : Error;
  return new ErrorType(`${prefix}: ${err.message}`, { cause: err });
}

function sameRef(a: ValueRef, b: ValueRef): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

// The op that first reads constant `index`, for naming it in a message.
function consumer(run: Run, index: number): Omit<TracedOp, 'batchDims'> | undefined {
  return run.ops.find((o) => o.inputs.some((r) => r.kind === 'const' && r.index === index));
}

// The two runs must be the same computation; where they differ, something was computed outside
// the trace (from the input's values, or at random).
function merge(a: Run, b: Run, what: string): TracedGraph {
  const untraced = (where: string) => new Error(`${what}: ${where} depends on the input's values or changes between runs, ` +
    'so it was computed outside tinynn\'s ops (e.g. in JavaScript from toArray() or item(), or at random); ' +
    'an exported graph cannot reproduce it');
  if (a.ops.length !== b.ops.length || a.ops.some((o, i) => o.op !== b.ops[i].op || o.module !== b.ops[i].module)) {
    throw untraced('the sequence of ops');
  }
  a.ops.forEach((o, i) => {
    const p = b.ops[i];
    if (o.inputs.length !== p.inputs.length || o.inputs.some((r, k) => !sameRef(r, p.inputs[k]))) throw untraced(`the operands of op '${o.op}' in ${o.module}`);
    // A reshape's target shape follows the batch size; every other argument must not change.
    const fixed = (attrs: OpAttrs) => JSON.stringify({ ...attrs, shape: undefined });
    if (fixed(o.attrs) !== fixed(p.attrs)) throw untraced(`an argument of op '${o.op}' in ${o.module}`);
  });
  if (a.constants.length !== b.constants.length) throw untraced('the set of constant tensors');
  a.constants.forEach((c, i) => {
    const d = b.constants[i];
    if (c.dtype !== d.dtype || !sameValues(c.shape, d.shape) || !sameValues(c.data, d.data)) {
      const o = consumer(a, i);
      throw untraced(o ? `a tensor of shape [${c.shape.join(', ')}] that op '${o.op}' in ${o.module} takes` : 'the output');
    }
  });
  if (!sameRef(a.output, b.output)) throw untraced('the output');
  const batchDims = (x: readonly number[], y: readonly number[], where: string): boolean[] => {
    if (x.length !== y.length) throw new Error(`${what}: the rank of ${where} changes with the batch size`);
    return x.map((d, k) => d !== y[k]);
  };
  return {
    ops: a.ops.map((o, i) => ({ ...o, batchDims: batchDims(o.shape, b.ops[i].shape, `the output of op '${o.op}' in ${o.module}`) })),
    constants: a.constants,
    output: a.output,
    outputShape: a.outputShape,
    outputBatchDims: batchDims(a.outputShape, b.outputShape, 'the output'),
    outputDtype: a.outputDtype,
  };
}
