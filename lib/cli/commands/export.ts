// `tinynn export`: saved MLP weights as an ONNX model, for onnxruntime and other ONNX readers.
import { type ParsedOptions } from '../args';
import { optionsCommand } from '../command';
import { ACTIVATION_OPTION, HIDDEN_OPTION, loadMlpWeights, mlp, parseHidden, type ActivationName } from '../mlp';

const OPTIONS = {
  model: { kind: 'string', valueName: 'FILE', description: 'weights saved by tinynn train --save (safetensors)', required: true },
  onnx: { kind: 'string', valueName: 'FILE', description: 'the ONNX model to write', required: true },
  hidden: HIDDEN_OPTION,
  activation: ACTIVATION_OPTION,
  opset: { kind: 'integer', valueName: 'N', description: 'ONNX opset', default: 17, min: 13, max: 23 },
} as const;

const SYNOPSIS = 'tinynn export --model FILE --onnx FILE [options]';

const DESCRIPTION =
  'Loads MNIST MLP weights (784 inputs, --hidden layers with --activation, 10 classes) and writes\n' +
  'them as an ONNX model: input \'input\' [batch, 784] float32, output \'output\' [batch, 10] logits.';

async function run(o: ParsedOptions<typeof OPTIONS>): Promise<number> {
  const hidden = parseHidden(o.hidden);
  // Loaded here, not at the top, so that --help and usage errors work without the native addon.
  const { nn, load, exportOnnx } = await import('../../index');
  const model = mlp(nn, hidden, o.activation as ActivationName);
  await loadMlpWeights(load, model, o.model, hidden);
  await exportOnnx(model, o.onnx, { inputShape: [784], opset: o.opset });
  process.stdout.write(`wrote ${o.onnx}: ONNX opset ${o.opset}, 784-${hidden.join('-')}-10 ${o.activation} MLP, ` +
    `input 'input' [batch, 784] float32, output 'output' [batch, 10] logits\n`);
  return 0;
}

/** `tinynn export`. */
export const exportCommand = optionsCommand({
  name: 'export',
  summary: 'write saved weights as an ONNX model',
  synopsis: SYNOPSIS,
  description: DESCRIPTION,
  options: OPTIONS,
  run,
});
