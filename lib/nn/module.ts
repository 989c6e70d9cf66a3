// nn.Module: parameters, children, train/eval and device moves, PyTorch-style.
import { resolveDevice, type DeviceSpec } from '../device';
import { softmax } from '../functional';
import { native } from '../native';
import { noGrad, Tensor } from '../tensor';

/** A tensor registered as a trainable parameter of a module. */
export class Parameter extends Tensor {}

/** Tensor data as save/load hand it over: row-major float32 with its shape. */
export interface TensorRecord {
  shape: readonly number[];
  data: Float32Array;
}

/** Base class of layers and models. Subclasses register parameters and children in their constructor. */
export abstract class Module {
  /** True in training mode (the default), false after eval(). */
  training = true;
  private readonly params = new Map<string, Parameter>();
  private readonly children = new Map<string, Module>();

  /** Computes the module's output. */
  abstract forward(input: Tensor): Tensor;

  /** @internal */
  protected registerParameter(name: string, p: Parameter): Parameter {
    this.params.set(name, p);
    return p;
  }

  /** @internal */
  protected registerModule(name: string, m: Module): Module {
    this.children.set(name, m);
    return m;
  }

  /** The direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** Every parameter with its dotted name ('0.weight', '2.bias', …), in registration order. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [name, p] of this.params) out.push([prefix + name, p]);
    for (const [name, child] of this.children) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /** Every parameter, for an optimizer. */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
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
    for (const child of this.children.values()) child.train(mode);
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

  /** The parameters by name, as PyTorch's state_dict (tensors are the live parameters). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Replaces parameter values from `state` (names and shapes must match exactly). Everything is
   * checked before anything changes: on error the module is untouched.
   */
  loadStateDict(state: Record<string, TensorRecord>): void {
    const params = this.namedParameters();
    const expected = new Set(params.map(([n]) => n));
    for (const name of Object.keys(state)) {
      if (!expected.has(name)) throw new RangeError(`unexpected tensor '${name}' (the model has ${[...expected].join(', ')})`);
    }
    for (const [name, p] of params) {
      const rec = state[name];
      if (!rec) throw new RangeError(`missing tensor '${name}'`);
      if (!(rec.data instanceof Float32Array)) throw new TypeError(`tensor '${name}' must hold a Float32Array`);
      if (rec.shape.length !== p.shape.length || rec.shape.some((d, i) => d !== p.shape[i])) {
        throw new RangeError(`tensor '${name}' has shape [${rec.shape.join(', ')}], expected [${p.shape.join(', ')}]`);
      }
      const size = p.shape.reduce((a, b) => a * b, 1);
      if (rec.data.length !== size) throw new RangeError(`tensor '${name}' holds ${rec.data.length} values, expected ${size}`);
    }
    for (const [name, p] of params) {
      const src = new native.Tensor(state[name].data, [...p.shape], 'cpu');
      p.native.copyFrom(src);
      src.dispose();
    }
  }
}
