// MNIST in a few lines: the 784-128-10 MLP, trained off the main thread, then evaluated.
// Run: npx ts-node -P examples/tsconfig.json examples/mnist.ts
import { datasets, nn, optim, Trainer } from 'tinynn';

async function main(): Promise<void> {
  const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10)).to('auto');
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const trainer = new Trainer(model, { optimizer, loss: new nn.CrossEntropyLoss() });
  const { train, test } = await datasets.mnist();
  const history = await trainer.fit(train, { epochs: 3, batchSize: 64, validation: test,
    onEpochEnd: (e) => console.log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, test accuracy ${(100 * e.valAccuracy!).toFixed(2)} %`) });
  console.log(`${history.executor} executor on ${model.device}`);
  if (history.epochs[2].valAccuracy! < 0.95) throw new Error('MNIST accuracy below 95 %');
}

main();
