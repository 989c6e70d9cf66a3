// Model weights to and from safetensors files, under PyTorch's state_dict names ('0.weight',
// '0.bias', '2.weight', …) so the same file loads in PyTorch with load_state_dict.
import { writeFileAtomic } from './atomic-write';
import { readSafetensorsFile } from './safetensors-file';
import { decodeSafetensors, encodeSafetensors, float32Data, Float32Entry } from './safetensors';

/** What save/load need of a tensor: its shape, element type and a host copy of its data. */
export interface StateTensor {
  readonly shape: readonly number[];
  readonly dtype: string;
  toArray(): ArrayLike<number>;
}

/** A float32 tensor as read from a file, ready for {@link Loadable.loadStateDict}. */
export interface LoadedTensor {
  shape: number[];
  data: Float32Array;
}

/** A model whose parameters can be listed by name (nn.Module). */
export interface Saveable {
  stateDict(): Record<string, StateTensor>;
}

/** A model that can also take new parameter values (nn.Module). */
export interface Loadable extends Saveable {
  /** Replaces every parameter; validates names and shapes first and changes nothing on mismatch. */
  loadStateDict(state: Record<string, LoadedTensor>): void;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Rethrows `err` with the file named in front, keeping its class (TypeError, RangeError…). */
function withFile(file: string, err: unknown): Error {
  if (!(err instanceof Error)) return new Error(`${file}: ${String(err)}`);
  const ErrorType = err instanceof TypeError ? TypeError : err instanceof RangeError ? RangeError : Error;
  return new ErrorType(`${file}: ${err.message}`, { cause: err });
}

/** Rejects a model that is not an nn.Module-like object before any file is touched. */
function checkModel(model: unknown, what: string, loading: boolean): void {
  const m = model as Partial<Loadable> | null;
  if (typeof m !== 'object' || m === null || typeof m.stateDict !== 'function'
      || (loading && typeof m.loadStateDict !== 'function')) {
    throw new TypeError(`${what}: expected the model to be an nn.Module, got ${model === null ? 'null' : typeof model}`);
  }
}

/**
 * Rejects a path that is not a non-empty string: fs would take a number as a file descriptor
 * (reading or writing whatever it is open on) and a Buffer or URL silently.
 */
function checkPath(path: unknown, what: string): void {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`${what}: expected the path to be a non-empty string, got ${typeof path === 'string' ? "''" : typeof path}`);
  }
}

/**
 * Saves the model's parameters to `path` as a safetensors file (F32, little-endian), atomically:
 * an interrupted save leaves any previous file at `path` intact.
 *
 * @example
 * await save(model, 'mnist.safetensors');
 * // PyTorch: model.load_state_dict(safetensors.torch.load_file('mnist.safetensors'))
 * @throws TypeError when `model` is not a module, `path` not a non-empty string or a parameter not
 *   float32; the file system's error when writing fails.
 */
export async function save(model: Saveable, path: string): Promise<void> {
  checkModel(model, 'save', false);
  checkPath(path, 'save');
  // 'pt' tells Hugging Face tooling that the names and layouts are PyTorch's.
  await writeFileAtomic(path, encodeSafetensors(stateEntries(model, `save ${path}`), { format: 'pt' }));
}

/** The model's state_dict as safetensors entries; a TypeError (prefixed with `what`) for a non-float32 one. */
export function stateEntries(model: Saveable, what: string): Record<string, Float32Entry> {
  const entries: Record<string, Float32Entry> = {};
  for (const [name, tensor] of Object.entries(model.stateDict())) {
    if (tensor.dtype !== 'float32') throw new TypeError(`${what}: expected parameter '${name}' to be float32, got ${tensor.dtype}`);
    const data = tensor.toArray();
    entries[name] = { shape: [...tensor.shape], data: data instanceof Float32Array ? data : Float32Array.from(data) };
  }
  return entries;
}

/**
 * The problems that stop `file` from loading into a model with parameters `expected`: missing
 * and unexpected names, shape mismatches, dtypes other than F32. Empty when it fits.
 */
export function mismatches(expected: Record<string, StateTensor>, found: Map<string, { dtype: string; shape: number[] }>): string[] {
  const problems: string[] = [];
  for (const [name, tensor] of Object.entries(expected)) {
    const entry = found.get(name);
    if (!entry) {
      problems.push(`missing tensor '${name}' (shape ${shapeText(tensor.shape)})`);
    } else if (entry.dtype !== 'F32') {
      problems.push(`tensor '${name}' has dtype ${entry.dtype}, expected F32`);
    } else if (shapeText(entry.shape) !== shapeText(tensor.shape)) {
      problems.push(`tensor '${name}': shape ${shapeText(tensor.shape)} expected, ${shapeText(entry.shape)} found`);
    }
  }
  for (const name of found.keys()) {
    // hasOwn: a tensor named '__proto__' (or 'constructor') is not one of the model's.
    if (!Object.hasOwn(expected, name)) problems.push(`unexpected tensor '${name}'`);
  }
  return problems;
}

/** Options for {@link load}. */
export interface LoadOptions {
  /** Accept NaN and ±infinity in the weights (refused by default: they would only show later as a NaN loss). */
  allowNonFinite?: boolean;
}

/** A RangeError naming the tensor and the index of its first NaN or infinity. */
export function rejectNonFinite(path: string, name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(`${path}: tensor '${name}' holds ${data[i]} at index ${i}; pass { allowNonFinite: true } to load it anyway`);
    }
  }
}

/**
 * Loads parameters saved by {@link save} (or by PyTorch's safetensors `save_file` from a
 * state_dict with the same names and shapes) into `model`. The whole file is read, decoded and
 * checked against the model before anything is changed: on any error the model is untouched.
 *
 * @throws TypeError when `model` is not a module or `path` not a non-empty string; the file
 *   system's error when `path` cannot be read; TypeError/RangeError naming `path`
 *   when the file is not valid safetensors; Error naming `path` and listing every problem when
 *   the tensors do not match the model (missing or unexpected names, shapes, dtypes); RangeError
 *   naming the tensor and index of a NaN or infinity (unless options.allowNonFinite).
 */
export async function load(model: Loadable, path: string, options: LoadOptions = {}): Promise<void> {
  checkModel(model, 'load', true);
  checkPath(path, 'load');
  if (options === null || typeof options !== 'object') throw new TypeError(`load: expected options to be an object, got ${typeof options}`);
  const { tensors } = decodeSafetensors(await readSafetensorsFile(path), path);
  const problems = mismatches(model.stateDict(), tensors);
  if (problems.length > 0) {
    throw new Error(`${path} does not fit the model: ${problems.join('; ')}`);
  }
  const state: Record<string, LoadedTensor> = {};
  for (const [name, tensor] of tensors) {
    state[name] = { shape: tensor.shape, data: float32Data(tensor, `${path}: tensor '${name}'`) };
    if (!options.allowNonFinite) rejectNonFinite(path, name, state[name].data);
  }
  try {
    model.loadStateDict(state);
  } catch (err) {
    throw withFile(path, err);
  }
}
