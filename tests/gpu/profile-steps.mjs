// A short training run for a kernel profiler (scripts/gpu-profile.sh runs it under ncu): `steps`
// SGD steps of the 784-128-10 net at batch size B on cuda, after one warm-up epoch.
//   node tests/gpu/profile-steps.mjs B steps [--fusion none] [--cluster] [--tf32]
// The flags are the Trainer's options: fusion 'none' (the composed executor), cudaClusterLayer1,
// tf32; without them, the default fused executor. Needs dist/ ($TINYNN_DIST for another one), the
// addon and MNIST in $TINYNN_MNIST_DIR; no node_modules. TINYNN_TRAIN_DEVICE=cpu: a dry run.
import * as path from 'path';
import { repoRoot, require } from './load-addon.mjs';

const { nn, optim, Trainer, datasets, manualSeed } = require(path.resolve(repoRoot, process.env.TINYNN_DIST || 'dist', 'index.js'));
const args = process.argv.slice(2);
const [batchSize, steps] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--fusion')).map(Number);
if (!(batchSize > 0 && steps > 0)) {
  console.error('usage: node tests/gpu/profile-steps.mjs B steps [--fusion none|auto] [--cluster] [--tf32]');
  process.exit(2);
}
const fusionAt = args.indexOf('--fusion');
const options = { fusion: fusionAt >= 0 ? args[fusionAt + 1] : 'auto', cudaClusterLayer1: args.includes('--cluster'), tf32: args.includes('--tf32') };
const device = process.env.TINYNN_TRAIN_DEVICE === 'cpu' ? 'cpu' : 'cuda';
const { train } = await datasets.mnist({ dir: process.env.TINYNN_MNIST_DIR });
manualSeed(1);
const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10)).to(device);
const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
const trainer = new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss(), ...options });
const subset = train.subset(0, batchSize * steps);
const history = await trainer.fit(subset, { epochs: 2, batchSize, seed: 1 });
console.log(`batch ${batchSize}, ${JSON.stringify(options)}, ${history.executor} executor on ${device}: ${steps} steps/epoch, ` +
  `epoch seconds ${history.epochs.map((e) => e.seconds.toFixed(5)).join(' ')}`);
