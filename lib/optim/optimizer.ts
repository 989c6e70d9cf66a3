// The base of the optimizers: parameter groups with their own settings, per-parameter state in
// native tensors, one native multi-tensor update per group and step, and PyTorch-shaped
// stateDict() / loadStateDict().
import { describe } from '../device';
import { native } from '../native';
import type { NativeOptimizerOptions, NativeTensor } from '../native-types';
import { Parameter } from '../nn/module';
import { Tensor } from '../tensor';

/** A group of parameters with settings of its own (the rest come from the optimizer's defaults). */
export type ParamGroupSpec<O> = { params: Iterable<Parameter> } & Partial<O>;

/** One parameter group: its parameters and its settings (mutable between steps: lr, betas, …). */
export interface ParamGroup<S> {
  readonly params: readonly Parameter[];
  options: S;
}

/** What stateDict() returns: PyTorch's layout, parameters named by their index across groups. */
export interface OptimizerStateDict {
  state: Record<number, Record<string, Tensor | number>>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

/**
 * An optimizer over parameter groups. `S` is the settings with every default filled in; the
 * subclass checks them and names the state tensors each parameter needs under them.
 */
export abstract class Optimizer<O extends { lr: number }, S extends { lr: number }> {
  /** Every parameter, in group order. */
  readonly params: readonly Parameter[];
  readonly paramGroups: ParamGroup<S>[];
  /** @internal int32 cpu [params]: how many updates each parameter has had (PyTorch's state['step']). */
  readonly steps: NativeTensor;
  private readonly stateTensors: (Map<string, NativeTensor> | null)[];
  private readonly groupOf: number[];

  protected constructor(readonly name: string, params: Iterable<Parameter> | Iterable<ParamGroupSpec<O>>, defaults: O) {
    if (params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
      throw new TypeError(`${name} params must be an iterable of Parameters or of { params, ...options } groups, got ${describe(params)}`);
    }
    const items = [...(params as Iterable<unknown>)];
    const isGroup = (x: unknown) => x !== null && typeof x === 'object' && !(x instanceof Tensor) && 'params' in x;
    const specs: ParamGroupSpec<O>[] = items.length > 0 && isGroup(items[0])
      ? (items as ParamGroupSpec<O>[]) : [{ params: items as Parameter[] } as unknown as ParamGroupSpec<O>];
    const seen = new Set<Parameter>();
    this.paramGroups = specs.map((spec, g) => {
      if (!isGroup(spec) || spec.params === null || typeof spec.params !== 'object' || !(Symbol.iterator in spec.params)) {
        throw new TypeError(`${name} param group ${g} must be an object with params, got ${describe(spec)}`);
      }
      const list = [...spec.params];
      list.forEach((p, i) => {
        if (!(p instanceof Parameter)) throw new TypeError(`${name} params[${i}] of group ${g} must be a Parameter, got ${describe(p)}`);
        if (seen.has(p)) throw new RangeError(`${name}: a parameter appears twice (group ${g}, index ${i})`);
        seen.add(p);
      });
      const { params: _params, ...own } = spec;
      return { params: list, options: this.check({ ...defaults, ...own } as O) };
    });
    this.params = this.paramGroups.flatMap((g) => g.params);
    if (this.params.length === 0) throw new RangeError(`${name} got an empty parameter list`);
    this.groupOf = this.paramGroups.flatMap((g, k) => g.params.map(() => k));
    this.stateTensors = this.params.map(() => null);
    this.steps = native.Tensor.zeros([this.params.length], 'int32', 'cpu');
  }

  /** Checks the settings and fills in the defaults (TypeError / RangeError naming the setting). */
  protected abstract check(options: O): S;
  /** The settings as the native update takes them. */
  protected abstract native(settings: S): NativeOptimizerOptions;
  /** The state tensors (PyTorch's names) a parameter needs under these settings, in native order. */
  protected abstract stateNames(settings: S): string[];

  /** The learning rate of the first group; setting it sets every group's (from the next step). */
  get lr(): number {
    return this.paramGroups[0].options.lr;
  }
  set lr(value: number) {
    for (const g of this.paramGroups) g.options = this.check({ ...g.options, lr: value } as unknown as O);
  }

  /** Sets every parameter's gradient to null. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Updates every parameter that has a gradient: one native call per group (and step count). */
  step(): void {
    let first = 0;
    this.paramGroups.forEach((group) => {
      const options = this.native(this.check(group.options as unknown as O));
      const idx = group.params.map((_, k) => first + k).filter((i) => this.params[i].grad);
      first += group.params.length;
      if (idx.length === 0) return;
      native.ops.optimizerStep(idx.map((i) => this.params[i].native), idx.map((i) => (this.params[i].grad as Tensor).native),
        idx.map((i) => this.state(i)), options, this.steps, idx);
    });
  }

  /** @internal The first group's settings as the native side takes them (the training driver's). */
  nativeOptions(): NativeOptimizerOptions {
    return this.native(this.check(this.paramGroups[0].options as unknown as O));
  }

  /** @internal Param i's state tensors in native order, created (zeros) or moved to its device as needed. */
  state(i: number): NativeTensor[] {
    const p = this.params[i];
    const names = this.stateNames(this.paramGroups[this.groupOf[i]].options);
    let map = this.stateTensors[i];
    if (!map) {
      map = new Map();
      this.stateTensors[i] = map;
    }
    return names.map((name) => {
      let t = map!.get(name);
      if (t && (t.disposed || t.device !== p.device)) {
        const moved = t.disposed ? null : t.to(p.device);
        t.dispose();
        t = moved ?? undefined;
      }
      t ??= native.Tensor.zeros([...p.shape], 'float32', p.device);
      map!.set(name, t);
      return t;
    });
  }

  /** The state (copies) and settings, as torch.optim's state_dict(): parameters by index. */
  stateDict(): OptimizerStateDict {
    const counts = this.steps.toArray() as Int32Array;
    const state: OptimizerStateDict['state'] = {};
    this.params.forEach((_, i) => {
      if (counts[i] === 0 && !this.stateTensors[i]) return;
      const entry: Record<string, Tensor | number> = { step: counts[i] };
      for (const [name, t] of this.stateTensors[i] ?? []) entry[name] = new Tensor(t.to('cpu'));
      state[i] = entry;
    });
    let first = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const params = g.params.map((_, k) => first + k);
      first += g.params.length;
      return { ...g.options, params };
    });
    return { state, paramGroups };
  }

  /**
   * Restores what stateDict() gave (of an optimizer of the same kind over parameters of the same
   * shapes, in the same groups). Everything is checked before anything changes.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    if (dict === null || typeof dict !== 'object' || typeof dict.state !== 'object' || !Array.isArray(dict.paramGroups)) {
      throw new TypeError(`${this.name}.loadStateDict expects { state, paramGroups }, got ${describe(dict)}`);
    }
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new RangeError(`${this.name}.loadStateDict: ${dict.paramGroups.length} param groups, this optimizer has ${this.paramGroups.length}`);
    }
    const settings = dict.paramGroups.map((g, k) => {
      if (!Array.isArray(g.params) || g.params.length !== this.paramGroups[k].params.length) {
        throw new RangeError(`${this.name}.loadStateDict: group ${k} has ${Array.isArray(g.params) ? g.params.length : 'no'} params, expected ${this.paramGroups[k].params.length}`);
      }
      const { params: _params, ...options } = g;
      return this.check(options as unknown as O);
    });
    const counts = Int32Array.from(this.params, () => 0);
    const tensors = this.params.map(() => new Map<string, NativeTensor>());
    for (const [key, entry] of Object.entries(dict.state)) {
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i >= this.params.length) throw new RangeError(`${this.name}.loadStateDict: state for parameter ${key}, which does not exist`);
      const p = this.params[i];
      const step = entry.step;
      if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || step > 2 ** 31 - 2) {
        throw new RangeError(`${this.name}.loadStateDict: state[${i}].step must be an integer >= 0, got ${describe(step)}`);
      }
      counts[i] = step;
      const names = this.stateNames(settings[this.groupOf[i]]);
      for (const name of names) {
        const t = entry[name];
        if (t === undefined) continue; // created as zeros on first use, as PyTorch does
        if (!(t instanceof Tensor) || t.dtype !== 'float32' || t.shape.length !== p.shape.length || t.shape.some((d, k) => d !== p.shape[k])) {
          throw new RangeError(`${this.name}.loadStateDict: state[${i}].${name} must be a float32 tensor of shape [${p.shape.join(', ')}], got ${describe(t)}`);
        }
        tensors[i].set(name, t.native.to(p.device));
      }
    }
    this.paramGroups.forEach((g, k) => {
      g.options = settings[k];
    });
    this.stateTensors.forEach((old, i) => {
      for (const t of old?.values() ?? []) t.dispose();
      this.stateTensors[i] = tensors[i].size ? tensors[i] : null;
    });
    this.steps.copyFrom(new native.Tensor(counts, [counts.length], 'cpu'));
  }
}

/** A setting that must be a finite number >= 0 (TypeError / RangeError naming it). */
export function nonNegative(optimizer: string, name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${optimizer} ${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${optimizer} ${name} must be a finite number >= 0, got ${value}`);
  return value;
}

/** A coefficient in [0, 1): betas, alpha. */
export function coefficient(optimizer: string, name: string, value: unknown): number {
  const v = nonNegative(optimizer, name, value);
  if (v >= 1) throw new RangeError(`${optimizer} ${name} must be in [0, 1), got ${v}`);
  return v;
}

/** A boolean setting. */
export function flag(optimizer: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${optimizer} ${name} must be a boolean, got ${describe(value)}`);
  return value;
}
