// The MLP the CLI trains, evaluates and exports: 784 → hidden… → 10, each hidden Linear layer
// followed by one activation (PyTorch's nn.Sequential layout and state_dict names).
import { UsageError, type StringOption } from './args';

type Nn = typeof import('../index').nn;

/** The activations --activation accepts. */
export const ACTIVATIONS = ['relu', 'leaky-relu', 'sigmoid', 'tanh', 'gelu'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** --hidden: the hidden layers' widths. */
export const HIDDEN_OPTION = {
  kind: 'string',
  valueName: 'N[,N...]',
  description: 'widths of the hidden layers, e.g. 256,128',
  default: '128',
  pattern: /^\d+(,\d+)*$/,
} as const satisfies StringOption;

/** --activation: the activation after each hidden layer. */
export const ACTIVATION_OPTION = {
  kind: 'string',
  valueName: ACTIVATIONS.join('|'),
  description: 'activation after each hidden layer',
  default: 'relu',
  pattern: new RegExp(`^(${ACTIVATIONS.join('|')})$`),
} as const satisfies StringOption;

/** The widest hidden layer --hidden accepts (a 784 × 65536 layer is already 205 MB). */
export const MAX_HIDDEN_WIDTH = 65_536;
/** The most hidden layers --hidden accepts. */
export const MAX_HIDDEN_LAYERS = 64;

/** '256,128' → [256, 128]; a UsageError for a width of 0 or above MAX_HIDDEN_WIDTH, or too many layers. */
export function parseHidden(text: string): number[] {
  const widths = text.split(',').map(Number);
  if (widths.length > MAX_HIDDEN_LAYERS) throw new UsageError(`--hidden: at most ${MAX_HIDDEN_LAYERS} layers, got ${widths.length}`);
  for (const w of widths) {
    if (!Number.isSafeInteger(w) || w < 1 || w > MAX_HIDDEN_WIDTH) {
      throw new UsageError(`--hidden expects widths in [1, ${MAX_HIDDEN_WIDTH}], got '${text}'`);
    }
  }
  return widths;
}

/** The architecture's one-line name, e.g. '784-256-128-10 MLP (GELU)'. */
export function mlpName(hidden: readonly number[], activation: ActivationName): string {
  return `${[784, ...hidden, 10].join('-')} MLP (${activation})`;
}

function activationLayer(nn: Nn, name: ActivationName): InstanceType<Nn['Module']> {
  switch (name) {
    case 'relu': return new nn.ReLU();
    case 'leaky-relu': return new nn.LeakyReLU();
    case 'sigmoid': return new nn.Sigmoid();
    case 'tanh': return new nn.Tanh();
    case 'gelu': return new nn.GELU();
  }
}

/** Linear(784, h₁), act, …, Linear(hₙ, 10): the layout `tinynn train --save` writes and eval/export read. */
export function mlp(nn: Nn, hidden: readonly number[], activation: ActivationName): InstanceType<Nn['Sequential']> {
  const layers: InstanceType<Nn['Module']>[] = [];
  let width = 784;
  for (const h of hidden) {
    layers.push(new nn.Linear(width, h), activationLayer(nn, activation));
    width = h;
  }
  return new nn.Sequential(...layers, new nn.Linear(width, 10));
}

/**
 * Loads `file` into `model` (an MLP of `hidden` widths): a missing file, or weights of another
 * architecture, is an error that says so plainly.
 */
export async function loadMlpWeights(load: typeof import('../index').load, model: import('../index').nn.Module, file: string,
  hidden: readonly number[]): Promise<void> {
  try {
    await load(model, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`model file ${file} does not exist`);
    if (err instanceof Error && err.message.includes('does not fit the model')) {
      throw new Error(`${err.message}\n(expected a 784-${hidden.join('-')}-10 MLP; pass the --hidden it was trained with)`, { cause: err });
    }
    throw err;
  }
}
