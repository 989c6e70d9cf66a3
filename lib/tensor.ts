// Tensor: a handle on a native buffer plus what autograd needs (grad, the op that made it).
import { describe, resolveDevice, type DeviceSpec } from './device';
import { native } from './native';
import { defaultGenerator, type Generator } from './random';
import { formatTensor } from './tensor-format';
import type { DTypeName, NativeTensor, TypedArray } from './native-types';
import * as activations from './ops/activations';
import * as elementwise from './ops/elementwise';
import type { Operand } from './ops/elementwise';
import * as linalg from './ops/linalg';
import * as reductions from './ops/reductions';
import * as shapes from './ops/shape';

/** Element types: 'float32' (default), 'int32' (labels, indices) and 'uint8' (raw images). */
export type DType = DTypeName;

/** The typed array that holds a dtype's values. */
export type ArrayOf<D extends DType> = D extends 'int32' ? Int32Array : D extends 'uint8' ? Uint8Array : Float32Array;

/**
 * How a tensor was computed: its inputs and the function that maps the gradient of the output to
 * the gradients of the inputs (null where an input needs none).
 * @internal
 */
export interface GradFn {
  inputs: Tensor[];
  backward(gradOutput: Tensor | null): (Tensor | null)[];
}

let gradEnabled = true;

/** Whether ops record the graph for backward() (off inside {@link noGrad}). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording gradients, like `torch.no_grad()`. */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

// The tensors made inside each running tidy() call, innermost last.
const scopes: Tensor[][] = [];

/**
 * Runs `fn` and frees every tensor made during it, except those in its result (a tensor, or arrays
 * and plain objects of them, which pass to an enclosing tidy()); all of them if `fn` throws. For loops that make many
 * intermediates and want their memory back at once instead of at the next garbage collection;
 * a result's graph is cut (backward() cannot reach through tensors freed here).
 */
export function tidy<T>(fn: () => T): T {
  const made: Tensor[] = [];
  scopes.push(made);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of made) t.dispose();
    throw err;
  }
  scopes.pop();
  const kept = new Set<Tensor>();
  collectTensors(result, kept, 0);
  const parent = scopes[scopes.length - 1];
  for (const t of made) {
    if (!kept.has(t)) t.dispose();
    else parent?.push(t);
  }
  return result;
}

function collectTensors(value: unknown, into: Set<Tensor>, depth: number): void {
  if (depth > 16 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, into, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, into, depth + 1);
}

/** An n-dimensional array on a device, PyTorch-style. Create one with {@link tensor}. */
export class Tensor {
  // The native handle and what this side caches of it: each native accessor call costs a
  // boundary crossing and a new JS array or string, and ops read shapes many times.
  private handle: NativeTensor;
  private cachedShape: readonly number[] | null = null;
  private cachedDevice: string | null = null;
  private cachedDtype: DType | null = null;
  /** Whether backward() computes a gradient for this tensor. */
  requiresGrad: boolean;
  /** The accumulated gradient after backward(), same shape and device. */
  grad: Tensor | null = null;
  /** @internal */
  gradFn: GradFn | null = null;

  /** @internal `shape`, when the caller knows it, saves asking the native side. */
  constructor(handle: NativeTensor, requiresGrad = false, shape?: readonly number[]) {
    this.handle = handle;
    this.requiresGrad = requiresGrad;
    if (shape) this.cachedShape = Object.isFrozen(shape) ? shape : Object.freeze([...shape]);
    scopes[scopes.length - 1]?.push(this);
  }

  /** @internal The native tensor; replacing it (a device move) drops what was cached of the old one. */
  get native(): NativeTensor {
    return this.handle;
  }
  set native(handle: NativeTensor) {
    this.handle = handle;
    this.cachedShape = null;
    this.cachedDevice = null;
    this.cachedDtype = null;
  }

  /** The size of each dimension. */
  get shape(): readonly number[] {
    return (this.cachedShape ??= Object.freeze(this.handle.shape));
  }
  get dtype(): DType {
    return (this.cachedDtype ??= this.handle.dtype);
  }
  /** 'cpu' or 'cuda:N'. */
  get device(): string {
    return (this.cachedDevice ??= this.handle.device);
  }
  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get disposed(): boolean {
    return this.native.disposed;
  }

  /**
   * A host copy of the contents, row-major: a Float32Array for float32, Int32Array for int32,
   * Uint8Array for uint8 (name the dtype to get the typed result: `t.toArray<'int32'>()`).
   */
  toArray<D extends DType = 'float32'>(): ArrayOf<D> {
    return this.native.toArray() as ArrayOf<D>;
  }

  /** Values, shape, dtype and device, PyTorch-style (summarised above 1000 elements). */
  toString(): string {
    if (this.disposed) return `tensor(<disposed>, shape=[${this.shape.join(', ')}], dtype=${this.dtype})`;
    const extra = this.gradFn ? ', gradFn' : this.requiresGrad ? ', requiresGrad=true' : '';
    return formatTensor(this.native.toArray(), this.shape, this.dtype, this.device, extra);
  }

  /** @internal console.log and util.inspect print toString(). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`item() needs a tensor of one element, got shape [${this.shape.join(', ')}]`);
    return this.toArray()[0];
  }

  /** A copy on `device` ('cpu', 'cuda', 'cuda:N', 'auto'). Gradients are not carried. */
  to(device: DeviceSpec): Tensor {
    return new Tensor(this.native.to(resolveDevice(device)), this.requiresGrad);
  }

  /** int32 indices of the largest values along `dim` (default: the last); the first on ties. */
  argmax(dim = -1, keepdim = false): Tensor {
    return reductions.argmax(this, dim, keepdim);
  }

  // Arithmetic (broadcasting; numbers accepted as operands).
  /** this + other. */
  add(other: Operand): Tensor { return elementwise.add(this, other); }
  /** this - other. */
  sub(other: Operand): Tensor { return elementwise.sub(this, other); }
  /** this · other, element-wise. */
  mul(other: Operand): Tensor { return elementwise.mul(this, other); }
  /** this / other, element-wise. */
  div(other: Operand): Tensor { return elementwise.div(this, other); }
  /** -this. */
  neg(): Tensor { return elementwise.neg(this); }
  /** this ** exponent. */
  pow(exponent: number): Tensor { return elementwise.pow(this, exponent); }
  exp(): Tensor { return elementwise.exp(this); }
  log(): Tensor { return elementwise.log(this); }
  sqrt(): Tensor { return elementwise.sqrt(this); }
  abs(): Tensor { return elementwise.abs(this); }
  /** Values limited to [min, max]; either bound may be null. */
  clamp(min?: number | null, max?: number | null): Tensor { return elementwise.clamp(this, min, max); }
  /** 1 where equal, else 0 (float32, no gradient). */
  eq(other: Operand): Tensor { return elementwise.eq(this, other); }
  /** 1 where greater, else 0 (float32, no gradient). */
  gt(other: Operand): Tensor { return elementwise.gt(this, other); }
  /** 1 where less, else 0 (float32, no gradient). */
  lt(other: Operand): Tensor { return elementwise.lt(this, other); }

  // Activations and the softmax family.
  relu(): Tensor { return activations.relu(this); }
  leakyRelu(negativeSlope = 0.01): Tensor { return activations.leakyRelu(this, negativeSlope); }
  sigmoid(): Tensor { return activations.sigmoid(this); }
  tanh(): Tensor { return activations.tanh(this); }
  gelu(): Tensor { return activations.gelu(this); }
  softmax(dim = -1): Tensor { return activations.softmax(this, dim); }
  logSoftmax(dim = -1): Tensor { return activations.logSoftmax(this, dim); }

  // Reductions: of every element, or along dim (keepdim keeps it with size 1).
  sum(dim?: number | null, keepdim = false): Tensor { return reductions.sum(this, dim, keepdim); }
  mean(dim?: number | null, keepdim = false): Tensor { return reductions.mean(this, dim, keepdim); }
  max(dim?: number | null, keepdim = false): Tensor { return reductions.max(this, dim, keepdim); }
  min(dim?: number | null, keepdim = false): Tensor { return reductions.min(this, dim, keepdim); }

  // Shapes and products.
  /** Matrix product (2-D, or batched 3-D). */
  matmul(other: Tensor): Tensor { return linalg.matmul(this, other); }
  /** A view with another shape (one size may be -1). */
  reshape(...shape: number[] | [readonly number[]]): Tensor { return shapes.reshape(this, flatShape(shape)); }
  /** Same as reshape: tensors are always contiguous. */
  view(...shape: number[] | [readonly number[]]): Tensor { return shapes.reshape(this, flatShape(shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return shapes.flatten(this, startDim, endDim); }
  transpose(dim0: number, dim1: number): Tensor { return shapes.transpose(this, dim0, dim1); }
  permute(...dims: number[]): Tensor { return shapes.permute(this, dims); }
  /** The transpose of a 2-D tensor. */
  t(): Tensor { return shapes.t(this); }
  /** The same values, cut from the graph. */
  detach(): Tensor { return shapes.detach(this); }
  /** A copy with its own storage (gradients flow back). */
  clone(): Tensor { return shapes.clone(this); }

  /** Frees the native memory now instead of at garbage collection. Safe to call twice. */
  dispose(): void {
    this.native.dispose();
    this.grad?.dispose();
    this.grad = null;
    this.gradFn = null;
  }

  /**
   * Back-propagates from this one-element tensor (a loss): every tensor it depends on with
   * requiresGrad gets `.grad` accumulated, as in PyTorch. The graph is freed afterwards.
   */
  backward(): void {
    if (this.size !== 1) {
      throw new RangeError(`backward() needs a one-element tensor such as a loss, got shape [${this.shape.join(', ')}]`);
    }
    if (!this.gradFn) {
      if (this.graphFreed) {
        throw new Error('backward(): the graph of this tensor was freed by an earlier backward(); ' +
          'compute the loss again (a new forward pass) before calling backward() again');
      }
      throw new Error('backward(): this tensor does not depend on anything that requires a gradient');
    }
    runBackward(this);
  }

  /** Frees the native memory when a `using` declaration goes out of scope (same as dispose()). */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal Set once backward() has consumed this tensor's graph. */
  graphFreed = false;
}

// reshape(2, 3) and reshape([2, 3]) both name the shape [2, 3].
function flatShape(shape: number[] | [readonly number[]]): number[] {
  return shape.length === 1 && Array.isArray(shape[0]) ? [...(shape[0] as readonly number[])] : (shape as number[]);
}

// The gradients backward() seeds its root with: a loss's backward hands its own gradient on as it
// is for them instead of multiplying by one (on the device: no wait, no extra pass).
const unitGradients = new WeakSet<Tensor>();

// d root / d root = 1 on the root's device in the root's shape, made for each backward(): a
// leaf may keep it (or a view of it, from a reshape's backward) as its .grad and add into it later.
function unitSeed(device: string, shape: readonly number[]): Tensor {
  const seed = new Tensor(new native.Tensor(new Float32Array([1]), [...shape], device));
  unitGradients.add(seed);
  return seed;
}

/** @internal Whether `g` is backward()'s seed of ones (so scaling by it changes nothing). */
export function isUnitGradient(g: Tensor): boolean {
  return unitGradients.has(g);
}

// Visits the graph in reverse topological order, passing each node's output gradient to its
// gradFn; leaves accumulate into .grad. Intermediate gradients are freed as soon as they are used.
function runBackward(root: Tensor): void {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const visit = (t: Tensor): void => {
    if (seen.has(t)) return;
    seen.add(t);
    // An intermediate whose graph an earlier backward() consumed: without this it would pass as
    // a leaf and the gradient to what it came from would be silently lost.
    if (t.disposed) {
      throw new TypeError(`backward(): a tensor of shape [${t.shape.join(', ')}] in the graph` +
        `${t.requiresGrad && !t.gradFn ? ' (a parameter or leaf that needs a gradient)' : ''} has been disposed`);
    }
    if (!t.gradFn && t.graphFreed) {
      throw new Error('backward(): the graph of an intermediate tensor was freed by an earlier backward(); ' +
        'compute it again (a new forward pass) before calling backward() again');
    }
    for (const input of t.gradFn?.inputs ?? []) visit(input);
    order.push(t);
  };
  visit(root);
  const pending = new Map<Tensor, Tensor>();
  pending.set(root, unitSeed(root.device, root.shape));
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    const fn = node.gradFn;
    if (!fn) continue;
    const gradOut = pending.get(node) ?? null;
    pending.delete(node);
    const grads = fn.backward(gradOut);
    node.gradFn = null;
    node.graphFreed = true;
    // A backward function may hand on the output's gradient, or one tensor to several inputs: a
    // gradient is kept (as an input's .grad or pending sum) by at most one input, copied for any
    // other that must keep it, and freed when none kept it.
    const kept = new Set<Tensor>();
    fn.inputs.forEach((input, k) => {
      const g = grads[k];
      if (g) deliver(pending, input, kept.has(g) ? null : g, g, kept);
    });
    for (const g of new Set([...grads, gradOut])) if (g && !kept.has(g)) g.dispose();
  }
}

// Passes gradient g to `input`: summed into what it already has, else kept as is (when `own` is g,
// i.e. no other input kept it yet) or as a copy.
function deliver(pending: Map<Tensor, Tensor>, input: Tensor, own: Tensor | null, g: Tensor, kept: Set<Tensor>): void {
  const keep = (): Tensor => {
    if (own) {
      kept.add(own);
      return own;
    }
    return new Tensor(native.ops.unary(g.native, 'affine', 1, 0));
  };
  if (input.gradFn) {
    // A tensor used by several ops receives the sum of their gradients.
    const sum = pending.get(input);
    if (sum) native.ops.addInPlace(sum.native, g.native);
    else pending.set(input, keep());
  } else if (input.requiresGrad) {
    if (input.grad) native.ops.addInPlace(input.grad.native, g.native);
    else input.grad = keep();
  }
}

/** Nested number arrays accepted by {@link tensor}. */
export type NestedArray = number | readonly NestedArray[];

/** Options for {@link tensor}. */
export interface TensorOptions {
  /** The shape; inferred from nested arrays, else [length]. */
  shape?: readonly number[];
  /** Element type; inferred from a typed array, else 'float32'. */
  dtype?: DType;
  device?: DeviceSpec;
  requiresGrad?: boolean;
}

/**
 * Creates a tensor from numbers, nested arrays or a typed array (copied).
 * @example tensor([[1, 2], [3, 4]]); tensor(new Uint8Array(784 * 64), { shape: [64, 784] })
 */
export function tensor(data: NestedArray | TypedArray | readonly number[], options: TensorOptions | readonly number[] = {}): Tensor {
  // tensor(data, [2, 3]): the shape given as PyTorch users may guess.
  if (Array.isArray(options)) options = { shape: options as readonly number[] };
  if (options === null || typeof options !== 'object') throw new TypeError(`tensor options must be an object, got ${describe(options)}`);
  options = options as TensorOptions;
  let flat: ArrayLike<number>;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    if (!(data instanceof Float32Array || data instanceof Int32Array || data instanceof Uint8Array)) {
      throw new TypeError(`tensor data must be numbers, nested arrays, Float32Array, Int32Array or Uint8Array, got ${describe(data)}`);
    }
    flat = data;
    shape = [data.length];
  } else if (typeof data === 'number' || Array.isArray(data)) {
    ({ flat, shape } = flatten(data as NestedArray));
  } else {
    throw new TypeError(`tensor data must be numbers, nested arrays or a typed array, got ${describe(data)}`);
  }
  if (options.shape !== undefined) {
    if (!Array.isArray(options.shape)) throw new TypeError(`shape must be an array of sizes, got ${describe(options.shape)}`);
    shape = [...options.shape];
  }
  const dtype: DType = options.dtype ?? (data instanceof Int32Array ? 'int32' : data instanceof Uint8Array ? 'uint8' : 'float32');
  const typed = toTyped(flat, dtype);
  const device = resolveDevice(options.device ?? 'cpu');
  return new Tensor(new native.Tensor(typed, shape, device), options.requiresGrad ?? false);
}

/** Options of the tensor factories. */
export interface FactoryOptions {
  dtype?: DType;
  device?: DeviceSpec;
  requiresGrad?: boolean;
}

/** A tensor of zeros (float32 unless dtype says otherwise). */
export function zeros(shape: readonly number[], options: FactoryOptions = {}): Tensor {
  return new Tensor(native.Tensor.zeros([...shape], options.dtype ?? 'float32', resolveDevice(options.device ?? 'cpu')),
    options.requiresGrad ?? false);
}

/** A tensor of ones. */
export function ones(shape: readonly number[], options: FactoryOptions = {}): Tensor {
  const size = checkedSize('ones', shape);
  const data = toTyped(new Array<number>(size).fill(1), options.dtype ?? 'float32');
  return tensor(data, { shape, device: options.device, requiresGrad: options.requiresGrad });
}

/** float32 values from the standard normal distribution, drawn from `generator` (default: the seeded one). */
export function randn(shape: readonly number[], options: Omit<FactoryOptions, 'dtype'> & { generator?: Generator } = {}): Tensor {
  const size = checkedSize('randn', shape);
  return tensor((options.generator ?? defaultGenerator).normal(size), { shape, device: options.device, requiresGrad: options.requiresGrad });
}

/** [start, start + step, …) below end, as torch.arange: arange(5) or arange(1, 2, 0.25). float32 unless dtype says int32. */
export function arange(start: number, end?: number, step = 1, options: FactoryOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  for (const [name, v] of [['start', lo], ['end', hi], ['step', step]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`arange: ${name} must be a finite number, got ${describe(v)}`);
  }
  if (step === 0) throw new RangeError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  if (n === 0) throw new RangeError(`arange(${lo}, ${hi}, ${step}) is empty; tensors need at least one element`);
  const values = Array.from({ length: n }, (_, i) => lo + i * step);
  return tensor(toTyped(values, options.dtype ?? 'float32'), { device: options.device, requiresGrad: options.requiresGrad });
}

function checkedSize(op: string, shape: readonly number[]): number {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new TypeError(`${op}: shape must be an array of integers >= 1, got ${describe(shape)}`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > 2 ** 28) throw new RangeError(`${op}: [${shape.join(', ')}] has ${size} elements; build it on the native side instead`);
  return size;
}

function toTyped(flat: ArrayLike<number>, dtype: DType): TypedArray {
  if (dtype === 'float32') return flat instanceof Float32Array ? flat : Float32Array.from(flat);
  const [Ctor, lo, hi] = dtype === 'int32' ? [Int32Array, -(2 ** 31), 2 ** 31 - 1] as const
    : dtype === 'uint8' ? [Uint8Array, 0, 255] as const
    : (() => { throw new TypeError(`dtype must be 'float32', 'int32' or 'uint8', got ${describe(dtype)}`); })();
  if (flat instanceof Ctor) return flat;
  const out = new Ctor(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`element ${i} is ${v}, not a ${dtype} value in [${lo}, ${hi}]`);
    }
    out[i] = v;
  }
  return out;
}

// The most elements (and nesting depth) a tensor takes from nested JS arrays; typed arrays have no
// such limit. A larger array (or one that only claims to be: `a.length = 2 ** 32 - 1`) is refused
// before any element is visited.
const MAX_NESTED_ELEMENTS = 2 ** 26;
const MAX_NESTED_DEPTH = 16;

function flatten(data: NestedArray): { flat: number[]; shape: number[] } {
  const shape: number[] = [];
  let level: NestedArray = data;
  let count = 1;
  while (Array.isArray(level)) {
    if (shape.length === MAX_NESTED_DEPTH) throw new RangeError(`tensor data is nested more than ${MAX_NESTED_DEPTH} deep`);
    shape.push(level.length);
    count *= level.length;
    if (count > MAX_NESTED_ELEMENTS) {
      throw new RangeError(`tensor data of shape [${shape.join(', ')}, …] has more than ${MAX_NESTED_ELEMENTS} elements; pass a Float32Array (or Int32Array, Uint8Array) instead`);
    }
    if (level.length > 0 && !(0 in level)) throw new TypeError('tensor data has a hole at [0] (a sparse array)');
    level = (level as readonly NestedArray[])[0];
  }
  if (shape.length === 0) shape.push(1);
  const flat: number[] = [];
  const walk = (node: NestedArray, depth: number, path: string): void => {
    if (typeof node === 'number') {
      if (depth !== shape.length && !(shape.length === 1 && depth === 0)) throw new RangeError(`ragged nested array at ${path}`);
      flat.push(node);
      return;
    }
    if (!Array.isArray(node)) throw new TypeError(`tensor data at ${path} must be a number or an array, got ${describe(node)}`);
    if (node.length !== shape[depth]) {
      throw new RangeError(`ragged nested array at ${path}: expected ${shape[depth]} elements, got ${node.length}`);
    }
    // A for loop, not forEach: forEach skips holes, which must be refused.
    for (let i = 0; i < node.length; i++) {
      if (!(i in node)) throw new TypeError(`tensor data has a hole at ${path}[${i}] (a sparse array)`);
      walk(node[i] as NestedArray, depth + 1, `${path}[${i}]`);
    }
  };
  walk(data, 0, 'data');
  return { flat, shape };
}
