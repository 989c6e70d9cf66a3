// XOR with a 2-4-1 network, a sigmoid output and binary cross-entropy: the smallest problem a
// linear model cannot solve. Run: npx ts-node -P examples/tsconfig.json examples/xor.ts
import { manualSeed, nn, optim, tensor } from 'tinynn';

manualSeed(3);
const model = new nn.Sequential(new nn.Linear(2, 4), new nn.Tanh(), new nn.Linear(4, 1));
const optimizer = new optim.SGD(model.parameters(), { lr: 0.5, momentum: 0.9 });
const lossFn = new nn.BCEWithLogitsLoss();
const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
const y = tensor([[0], [1], [1], [0]]);

let loss = Infinity;
for (let step = 1; step <= 500; step++) {
  const l = lossFn.forward(model.forward(x), y);
  optimizer.zeroGrad();
  l.backward();
  optimizer.step();
  loss = l.item();
}
const predictions = Array.from(model.forward(x).sigmoid().toArray()).map((p) => Math.round(p));
console.log(`loss ${loss.toFixed(4)}, predictions ${predictions.join(' ')} (want 0 1 1 0)`);
if (predictions.join('') !== '0110') throw new Error('XOR was not learned');
