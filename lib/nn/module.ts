// nn.Module: parameters, children, train/eval and device moves, PyTorch-style.
import { resolveDevice, type DeviceSpec } from '../device';
import { softmax } from '../ops/activations';
import { native } from '../native';
import type { NativeTensor } from '../native-types';
import { noGrad, Tensor } from '../tensor';

/**
 * A tensor registered as a trainable parameter of a module: `new nn.Parameter(tensor)` shares the
 * tensor's storage (as torch.nn.Parameter does) and requires a gradient unless told otherwise.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor | NativeTensor, requiresGrad = true) {
    super(data instanceof Tensor ? native.ops.reshape(data.native, [...data.shape]) : data, requiresGrad);
  }
}

/** Tensor data as save/load hand it over: row-major float32 with its shape. */
export interface TensorRecord {
  shape: readonly number[];
  data: Float32Array;
}

/**
 * Base class of layers and models. Parameters and child modules assigned to fields in a subclass's
 * constructor are registered automatically, in assignment order, as in PyTorch:
 * ```ts
 * class Net extends nn.Module {
 *   fc1 = new nn.Linear(4, 8);
 *   fc2 = new nn.Linear(8, 1);
 *   forward(x: Tensor) { return this.fc2.forward(this.fc1.forward(x).relu()); }
 * }
 * new Net().namedParameters().map(([n]) => n);  // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
 * ```
 */
export abstract class Module {
  /** True in training mode (the default), false after eval(). */
  training = true;
  private readonly params = new Map<string, Parameter>();
  private readonly children = new Map<string, Module>();

  /** Computes the module's output. */
  abstract forward(input: Tensor): Tensor;

  /** Registers a parameter under `name` (for names that are not fields, or to fix the order). */
  protected registerParameter(name: string, p: Parameter): Parameter {
    this.params.set(name, p);
    return p;
  }

  /** Registers a child module under `name` (Sequential's '0', '1', …). */
  protected registerModule(name: string, m: Module): Module {
    this.children.set(name, m);
    return m;
  }

  // Registered entries first, then fields holding a T, each object once.
  private own<T>(registered: Map<string, T>, kind: abstract new (...args: never[]) => T): [string, T][] {
    const out = new Map(registered);
    const seen = new Set<unknown>(registered.values());
    for (const [name, value] of Object.entries(this)) {
      if (value instanceof kind && !seen.has(value)) {
        out.set(name, value);
        seen.add(value);
      }
    }
    return [...out];
  }

  /** The direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return this.own(this.children, Module as abstract new (...args: never[]) => Module);
  }

  /** This module ('') and every descendant with its dotted name, parents before children. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** Every parameter with its dotted name ('0.weight', 'fc1.bias', …): own ones first, then each child's. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [name, p] of this.own(this.params, Parameter)) {
      if (!seen.has(p)) out.push([prefix + name, p]);
      seen.add(p);
    }
    for (const [name, child] of this.namedChildren()) {
      for (const [n, p] of child.namedParameters(`${prefix}${name}.`)) {
        if (!seen.has(p)) out.push([n, p]);
        seen.add(p);
      }
    }
    return out;
  }

  /** Every parameter, for an optimizer. */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** The number of parameter elements. */
  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** One line for this module in a summary, without its children (e.g. 'Linear(in=784, out=128)'). */
  extraRepr(): string {
    return '';
  }

  /**
   * A readable summary, PyTorch-style, with parameter counts:
   * ```
   * Sequential(
   *   (0): Linear(in=784, out=128, bias=true)
   *   (1): ReLU()
   * )  101,770 parameters
   * ```
   */
  toString(): string {
    return `${this.describeTree('')}  ${this.parameterCount().toLocaleString('en-US')} parameters`;
  }

  private describeTree(indent: string): string {
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    const children = this.namedChildren();
    if (children.length === 0) return `${head})`;
    const lines = children.map(([name, child]) => `${indent}  (${name}): ${child.describeTree(`${indent}  `)}`);
    return `${head}\n${lines.join('\n')}\n${indent})`;
  }

  /** @internal util.inspect (console.log) shows the summary. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** The device of the parameters ('cpu' for a module without any). */
  get device(): string {
    return this.parameters()[0]?.device ?? 'cpu';
  }

  /** Moves every parameter (and its gradient) to `device`, in place; returns this. */
  to(device: DeviceSpec): this {
    const target = resolveDevice(device);
    for (const p of this.parameters()) {
      if (p.device === target) continue;
      const moved = p.native.to(target);
      p.native.dispose();
      p.native = moved;
      if (p.grad) {
        const g = p.grad.native.to(target);
        p.grad.native.dispose();
        p.grad.native = g;
      }
    }
    return this;
  }

  /** Training mode (affects layers such as dropout; kept for PyTorch parity). */
  train(mode = true): this {
    this.training = mode;
    for (const [, child] of this.namedChildren()) child.train(mode);
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /**
   * Class probabilities for a batch, without recording gradients: softmax(forward(x)).
   * `predict(x).argmax()` gives the predicted classes.
   */
  predict(x: Tensor): Tensor {
    return noGrad(() => {
      const logits = this.forward(x);
      const probs = softmax(logits);
      logits.dispose();
      return probs;
    });
  }

  /** Sets every parameter's gradient to null. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The parameters by name, as PyTorch's state_dict (the live parameter tensors). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Replaces parameter values from `state`: tensors (another model's stateDict()), or records of a
   * shape and a Float32Array (what load() reads). Names and shapes must match exactly. Everything
   * is checked before anything changes: on error the module is untouched.
   */
  loadStateDict(state: Record<string, Tensor | TensorRecord | Float32Array>): void {
    if (state === null || typeof state !== 'object') throw new TypeError(`loadStateDict: expected an object of tensors, got ${state === null ? 'null' : typeof state}`);
    const params = this.namedParameters();
    const expected = new Set(params.map(([n]) => n));
    for (const name of Object.keys(state)) {
      if (!expected.has(name)) throw new RangeError(`unexpected tensor '${name}' (the model has ${[...expected].join(', ')})`);
    }
    const sources = params.map(([name, p]) => [p, source(name, state[name], p)] as const);
    // Every target must take the write, or none is written.
    for (const [name, p] of params) {
      if (p.disposed) throw new TypeError(`loadStateDict: parameter '${name}' has been disposed`);
      if (p.native.busy) throw new Error(`loadStateDict: parameter '${name}' is in use by a running fit(); wait for it to finish`);
    }
    for (const [name, value] of Object.entries(state)) {
      if (value instanceof Tensor && value.native.busy) throw new Error(`loadStateDict: tensor '${name}' is in use by a running fit(); wait for it to finish`);
    }
    for (const [p, src] of sources) {
      if (src instanceof Tensor) {
        p.native.copyFrom(src.native);
      } else {
        const staged = new native.Tensor(src, [...p.shape], 'cpu');
        p.native.copyFrom(staged);
        staged.dispose();
      }
    }
  }
}

// The checked values for parameter `name`: a float32 tensor of p's shape, or its data.
function source(name: string, value: Tensor | TensorRecord | Float32Array | undefined, p: Parameter): Tensor | Float32Array {
  if (value === undefined) throw new RangeError(`missing tensor '${name}'`);
  const size = p.size;
  const shapeOk = (shape: readonly number[]) => shape.length === p.shape.length && shape.every((d, i) => d === p.shape[i]);
  if (value instanceof Tensor) {
    if (value.dtype !== 'float32') throw new TypeError(`tensor '${name}' must be float32, got ${value.dtype}`);
    if (!shapeOk(value.shape)) throw new RangeError(`tensor '${name}' has shape [${value.shape.join(', ')}], expected [${p.shape.join(', ')}]`);
    if (value.disposed) throw new TypeError(`tensor '${name}' has been disposed`);
    return value;
  }
  if (value instanceof Float32Array) {
    if (value.length !== size) throw new RangeError(`tensor '${name}' holds ${value.length} values, expected ${size} (shape [${p.shape.join(', ')}])`);
    return value;
  }
  if (value === null || typeof value !== 'object' || !(value.data instanceof Float32Array) || !Array.isArray(value.shape)) {
    throw new TypeError(`tensor '${name}' must be a Tensor, a Float32Array or { shape, data: Float32Array }`);
  }
  if (!shapeOk(value.shape)) throw new RangeError(`tensor '${name}' has shape [${value.shape.join(', ')}], expected [${p.shape.join(', ')}]`);
  if (value.data.length !== size) throw new RangeError(`tensor '${name}' holds ${value.data.length} values, expected ${size}`);
  return value.data;
}
