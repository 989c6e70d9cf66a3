// Run by scripts/cross-test.sh as `node smoke.cjs <tinynn package folder>` (natively, and under qemu
// with node for arm64 or under wine with node for Windows): loads
// the package and its addon, trains 1,000 MNIST samples, saves and loads, evaluates, and prints one
// JSON line of what it got, the addon file included; then exits by itself (the thread pool's
// workers must not keep the process alive).
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const pkg = process.argv[2];
const tn = require(pkg);
const addon = process.env.TINYNN_ADDON || require(require.resolve('node-gyp-build', { paths: [pkg] })).path(pkg);
(async () => {
  const backends = tn.backends();
  const { train, test } = await tn.datasets.mnist();
  tn.manualSeed(1);
  const model = new tn.nn.Sequential(new tn.nn.Linear(784, 32), new tn.nn.ReLU(), new tn.nn.Linear(32, 10));
  const trainer = new tn.Trainer(model, { optimizer: new tn.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }), loss: new tn.nn.CrossEntropyLoss() });
  const h = await trainer.fit(train.subset(0, 1000), { epochs: 1, seed: 1 });
  const file = path.join(os.tmpdir(), `cross-smoke-${process.pid}.safetensors`);
  await tn.save(model, file);
  await tn.load(model, file);
  fs.rmSync(file);
  const accuracy = (await trainer.evaluate(test.subset(0, 500))).accuracy;
  console.log(JSON.stringify({ platform: process.platform, arch: process.arch, addon: path.relative(pkg, addon), basicFinalizers: require(addon).basicFinalizers, gemmKernel: require(addon).bench.gemmKernel(), cpu: backends.cpu, loss: h.epochs[0].loss, executor: h.executor, accuracy }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
