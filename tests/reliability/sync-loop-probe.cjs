// Run by tests/memory.test.ts as `node sync-loop-probe.cjs EPOCHS SAMPLES`: the README's eager loop
// over MNIST, written synchronously (no await, so the event loop never turns and only the garbage
// collector can free the tensors each step drops), then `tensor.zeros` churn of 4 MB tensors.
// Prints one JSON line: RSS in MB after the warm-up epoch, after the epochs, after the churn.
'use strict';
const path = require('path');
const { nn, optim, datasets, DataLoader, zeros, manualSeed } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const MB = 1024 * 1024;
const rss = () => process.memoryUsage().rss / MB;

async function main() {
  const epochs = Number(process.argv[2] ?? 6);
  const samples = Number(process.argv[3] ?? 10000);
  manualSeed(1);
  const { train } = await datasets.mnist();
  const loader = new DataLoader(train.subset(0, samples), { batchSize: 64, shuffle: true, seed: 1 });
  const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
  const lossFn = new nn.CrossEntropyLoss();
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const epoch = () => {
    let last = 0;
    for (const { x, y } of loader) {
      opt.zeroGrad();
      const loss = lossFn.forward(model.forward(x), y);
      loss.backward();
      opt.step();
      last = loss.item();
    }
    return last;
  };
  // Everything below runs in one synchronous stretch.
  epoch();
  const afterWarmup = rss();
  let loss = 0;
  for (let e = 0; e < epochs; e++) loss = epoch();
  const afterEpochs = rss();
  for (let i = 0; i < 2000; i++) zeros([MB]);
  const afterChurn = rss();
  process.stdout.write(`${JSON.stringify({ afterWarmup, afterEpochs, afterChurn, loss })}\n`);
}
main().catch((err) => { console.error(err); process.exit(1); });
