// PyTorch's side of bench/eager.mjs: the bench/eager_peer.py child (spoken to through the same
// JSON-lines PytorchPeer as bench/run.mjs's peer), seen as training and micro-benchmark systems.
import { spawn } from 'child_process';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { PytorchPeer, pythonCommand } from '../systems/pytorch.mjs';
import { BATCH, DROPOUT, LR, MOMENTUM, TRAIN_SEED } from './net.mjs';

const benchDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Starts bench/eager_peer.py; resolves once it has loaded MNIST and answered `info`. */
export async function startEagerPeer({ mnistDir, scale, shift, threads }) {
  const child = spawn(pythonCommand(), [path.join(benchDir, 'eager_peer.py'), '--mnist', mnistDir, '--scale', String(scale),
    '--shift', String(shift), '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const peer = new PytorchPeer(child);
  peer.info = await peer.request({ op: 'info' });
  return peer;
}

/** One of the peer's training systems ('pytorch-cpu' | 'pytorch-cpu-dataloader'). */
export function pytorchTrainSystem(peer, name) {
  return {
    name,
    description: `PyTorch ${peer.info.torch}, eager: the same Net as an nn.Module, standard loop; batches: ${peer.info.trainSystems[name]}`,
    async prepare(weightsFile) {
      await peer.request({ op: 'prepareTrain', system: name, weights: weightsFile, batchSize: BATCH, lr: LR, momentum: MOMENTUM,
        dropout: DROPOUT, seed: TRAIN_SEED });
    },
    async run(steps) {
      const { seconds, samples, lastLoss } = await peer.request({ op: 'train', system: name, steps });
      return { seconds, steps, samples, lastLoss };
    },
    async phases(steps) {
      const { seconds, phases } = await peer.request({ op: 'phases', system: name, steps });
      return { seconds, steps, phases };
    },
    async evaluate() {
      const { accuracy, loss } = await peer.request({ op: 'evaluate', system: name });
      return { accuracy, loss };
    },
    async release() {
      await peer.request({ op: 'release', system: name });
    },
  };
}

/** The peer's micro-benchmark: prepare() makes its a and b, run() times one case. */
export function pytorchMicro(peer) {
  return {
    async prepare(rows, cols, seed) {
      await peer.request({ op: 'prepareMicro', rows, cols, seed });
    },
    async run(kase, iterations) {
      const { seconds } = await peer.request({ op: 'micro', case: kase, iterations });
      return { seconds, iterations };
    },
  };
}
