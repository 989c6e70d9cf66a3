// The small deterministic training run shared by the concurrency tests, the worker_threads they
// start and the child processes they kill (plain CommonJS: loadable from all three).
'use strict';
const path = require('path');
const tinynn = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));
const { native } = require(path.join(__dirname, '..', '..', 'dist', 'native.js'));
const { nn, optim, Trainer, Dataset, manualSeed } = tinynn;

/** 512 samples of 64 features, labels from a fixed rule: the same bytes everywhere. */
function dataset() {
  const n = 512, f = 64;
  const images = new Uint8Array(n * f);
  let s = 12345;
  for (let i = 0; i < images.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; images[i] = s >>> 24; }
  const labels = Uint8Array.from({ length: n }, (_, i) => (images[i * f] + images[i * f + 1]) % 10);
  return new Dataset({ images, labels, features: f });
}

/** A model with weights from `seed`, its trainer and the data. */
function makeRun(seed) {
  manualSeed(seed);
  const model = new nn.Sequential(new nn.Linear(64, 32), new nn.ReLU(), new nn.Linear(32, 10));
  const trainer = new Trainer(model, { optimizer: new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }), loss: new nn.CrossEntropyLoss() });
  return { model, trainer, data: dataset() };
}

/** name → weights as plain arrays (structured-clone friendly, compared bit for bit). */
function weightsOf(model) {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, Array.from(v.toArray())]));
}

module.exports = { ...tinynn, native, makeRun, weightsOf, dataset };
