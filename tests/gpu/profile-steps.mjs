// A short fused training run for a kernel profiler (scripts/gpu-profile.sh runs it under ncu):
// `steps` SGD steps of the 784-128-10 net at batch size B on cuda, after one warm-up epoch.
//   node tests/gpu/profile-steps.mjs B steps
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const { nn, optim, Trainer, datasets, manualSeed } = require('../../dist/index.js');
const [batchSize, steps] = process.argv.slice(2).map(Number);
const { train } = await datasets.mnist({ dir: process.env.TINYNN_MNIST_DIR });
manualSeed(1);
const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10)).to('cuda');
const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
const trainer = new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss() });
const subset = train.subset(0, batchSize * steps);
const history = await trainer.fit(subset, { epochs: 2, batchSize, seed: 1 });
console.log(`batch ${batchSize}: ${steps} steps/epoch, epoch seconds ${history.epochs.map((e) => e.seconds.toFixed(5)).join(' ')}`);
