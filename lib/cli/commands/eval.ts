// `tinynn eval`: the test-set loss and accuracy of saved MLP weights.
import { type ParsedOptions } from '../args';
import { chooseDevice, DATA_OPTION, DEVICE_OPTION, optionsCommand } from '../command';
import { ACTIVATION_OPTION, HIDDEN_OPTION, loadMlpWeights, mlp, parseHidden, type ActivationName } from '../mlp';
import { loss, percent, seconds } from '../format';
import type { DeviceSpec } from '../../index';

const OPTIONS = {
  model: { kind: 'string', valueName: 'FILE', description: 'weights saved by tinynn train --save (safetensors)', required: true },
  hidden: HIDDEN_OPTION,
  activation: ACTIVATION_OPTION,
  device: DEVICE_OPTION,
  data: DATA_OPTION,
} as const;

const SYNOPSIS = 'tinynn eval --model FILE [options]';

const DESCRIPTION =
  'Loads MLP weights saved by tinynn train (the names and shapes of PyTorch\'s nn.Sequential\n' +
  'state_dict; give the --hidden and --activation they were trained with) and reports their loss\n' +
  'and accuracy on the MNIST test set.';

async function run(o: ParsedOptions<typeof OPTIONS>): Promise<number> {
  const hidden = parseHidden(o.hidden);
  // Loaded here, not at the top, so that --help and usage errors work without the native addon.
  const { nn, Trainer, datasets, load, backends } = await import('../../index');
  const model = mlp(nn, hidden, o.activation as ActivationName);
  model.to(chooseDevice(o.device, backends()) as DeviceSpec);
  await loadMlpWeights(load, model, o.model, hidden);
  const { test } = await datasets.mnist({ dir: o.data });
  const trainer = new Trainer(model, { loss: new nn.CrossEntropyLoss() });
  const started = performance.now();
  const result = await trainer.evaluate(test);
  const elapsed = (performance.now() - started) / 1000;
  process.stdout.write(`test loss ${loss(result.loss)}  test accuracy ${percent(result.accuracy)}  ` +
    `(${test.length} samples on ${model.device}, ${seconds(elapsed)})\n`);
  return 0;
}

/** `tinynn eval`. */
export const evalCommand = optionsCommand({
  name: 'eval',
  summary: 'evaluate saved weights on the MNIST test set',
  synopsis: SYNOPSIS,
  description: DESCRIPTION,
  options: OPTIONS,
  run,
});
