// The MNIST MLP that the commands build from --hidden and --activation: 784 inputs, the hidden
// layers, 10 classes, under PyTorch's nn.Sequential names (0.weight, 0.bias, 2.weight, …).
import { UsageError, type StringOption } from './args';

/** The activations --activation names, as the layer that implements each. */
export const ACTIVATIONS = {
  relu: 'ReLU',
  gelu: 'GELU',
  tanh: 'Tanh',
  sigmoid: 'Sigmoid',
  'leaky-relu': 'LeakyReLU',
} as const;

/** An --activation value. */
export type ActivationName = keyof typeof ACTIVATIONS;

/** --hidden: the sizes of the hidden layers. */
export const HIDDEN_OPTION = {
  kind: 'string',
  valueName: 'N[,N...]',
  description: 'hidden layer sizes, comma-separated',
  default: '128',
  pattern: /^\d+(,\d+)*$/,
} as const satisfies StringOption;

/** --activation: the function after each hidden layer. */
export const ACTIVATION_OPTION = {
  kind: 'string',
  valueName: Object.keys(ACTIVATIONS).join('|'),
  description: 'activation after each hidden layer',
  default: 'relu',
  pattern: new RegExp(`^(${Object.keys(ACTIVATIONS).join('|')})$`),
} as const satisfies StringOption;

// The largest hidden layer: Linear's own limit (2^24 features) would first hit its weight limit.
const MAX_HIDDEN = 65_536;

/** The hidden sizes in a --hidden value ('128,64' → [128, 64]); UsageError when one is out of range. */
export function parseHidden(text: string): number[] {
  const sizes = text.split(',').map(Number);
  for (const n of sizes) {
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_HIDDEN) throw new UsageError(`--hidden sizes must be integers in [1, ${MAX_HIDDEN}], got '${text}'`);
  }
  return sizes;
}

/**
 * The MLP 784 → hidden[0] → … → 10 with `activation` after each hidden Linear, as an
 * nn.Sequential: mlpFromSpec(nn, [128], 'relu') is the 784-128-10 Linear-ReLU-Linear.
 */
export function mlpFromSpec(nn: typeof import('../index').nn, hidden: readonly number[], activation: ActivationName): import('../index').nn.Sequential {
  const Activation = nn[ACTIVATIONS[activation]];
  if (!Activation) throw new TypeError(`unknown activation '${activation}' (expected ${Object.keys(ACTIVATIONS).join(', ')})`);
  const layers: import('../index').nn.Module[] = [];
  let width = 784;
  for (const h of hidden) {
    layers.push(new nn.Linear(width, h), new Activation());
    width = h;
  }
  layers.push(new nn.Linear(width, 10));
  return new nn.Sequential(...layers);
}
