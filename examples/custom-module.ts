// Regression with a custom Module: fields register themselves, forward composes tensor ops.
// y = sin(x0) + 0.5·x1² on 512 seeded samples; the net reaches an MSE below 0.01.
// Run: npx ts-node -P examples/tsconfig.json examples/custom-module.ts
import { manualSeed, nn, optim, randn, tensor, type Tensor } from 'tinynn';

class Regressor extends nn.Module {
  hidden = new nn.Linear(2, 32);
  out = new nn.Linear(32, 1);
  forward(x: Tensor): Tensor {
    return this.out.forward(this.hidden.forward(x).tanh());
  }
}

manualSeed(7);
const x = randn([512, 2]);
const xs = x.toArray();
const targets = tensor(new Float32Array(512).map((_, i) => Math.sin(xs[2 * i]) + 0.5 * xs[2 * i + 1] ** 2), [512, 1]);

const model = new Regressor();
console.log(String(model));
const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
const lossFn = new nn.MSELoss();
let mse = Infinity;
for (let epoch = 1; epoch <= 300; epoch++) {
  const loss = lossFn.forward(model.forward(x), targets);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  mse = loss.item();
}
console.log(`MSE after 300 full-batch steps: ${mse.toFixed(4)}`);
if (!(mse < 0.01)) throw new Error(`MSE ${mse} is not below 0.01`);
