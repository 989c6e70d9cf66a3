// Run by scripts/cross-test-arm64.sh as `node smoke.cjs <tinynn entry>` (natively, and under qemu
// with an arm64 node and TINYNN_ADDON naming the arm64 addon): loads the addon, trains 1,000 MNIST
// samples, saves and loads, evaluates, and prints one JSON line of what it got; then exits by itself.
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const tn = require(process.argv[2]);
(async () => {
  const backends = tn.backends();
  const { train, test } = await tn.datasets.mnist();
  tn.manualSeed(1);
  const model = new tn.nn.Sequential(new tn.nn.Linear(784, 32), new tn.nn.ReLU(), new tn.nn.Linear(32, 10));
  const trainer = new tn.Trainer(model, { optimizer: new tn.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }), loss: new tn.nn.CrossEntropyLoss() });
  const h = await trainer.fit(train.subset(0, 1000), { epochs: 1, seed: 1 });
  const file = path.join(os.tmpdir(), `arm-smoke-${process.pid}.safetensors`);
  await tn.save(model, file);
  await tn.load(model, file);
  fs.rmSync(file);
  const accuracy = (await trainer.evaluate(test.subset(0, 500))).accuracy;
  console.log(JSON.stringify({ arch: process.arch, cpu: backends.cpu, loss: h.epochs[0].loss, executor: h.executor, accuracy }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
