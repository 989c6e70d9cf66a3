// The PyTorch systems: a long-lived bench/pytorch_peer.py child trains on request, answering one
// JSON line per request, so its epochs interleave with the other systems' in one invocation.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { fileURLToPath } from 'url';
import { ADAM_LR, LR, MOMENTUM, optimizerOf, SHUFFLE_SEED } from '../model-spec.mjs';

const benchDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** $TINYNN_BENCH_PYTHON, else the venv scripts/bench-setup.sh makes, else python3 on PATH. */
export function pythonCommand() {
  if (process.env.TINYNN_BENCH_PYTHON) return process.env.TINYNN_BENCH_PYTHON;
  const venv = path.join(benchDir, '..', '.venv', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

/** The running peer process; request() sends one message and resolves to its reply. */
export class PytorchPeer {
  constructor(child) {
    this.child = child;
    this.pending = [];
    this.exited = null;
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const waiter = this.pending.shift();
      if (!waiter) return;
      let reply;
      try {
        reply = JSON.parse(line);
      } catch {
        waiter.reject(new Error(`the PyTorch peer wrote a line that is not JSON: ${line.slice(0, 200)}`));
        return;
      }
      if (reply.error) waiter.reject(new Error(`PyTorch peer: ${reply.error}`));
      else waiter.resolve(reply);
    });
    const fail = (why) => {
      this.exited = why;
      for (const waiter of this.pending.splice(0)) waiter.reject(new Error(`the PyTorch peer ${why} (its stderr is above)`));
    };
    child.on('exit', (code, signal) => fail(`exited with ${signal ?? `code ${code}`}`));
    child.on('error', (err) => fail(`could not start: ${err.message}`));
  }

  /** Starts the peer; resolves once it has loaded MNIST and answered `info`. */
  static async start({ mnistDir, scale, shift, threads }) {
    const child = spawn(pythonCommand(), [path.join(benchDir, 'pytorch_peer.py'), '--mnist', mnistDir, '--scale', String(scale),
      '--shift', String(shift), '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const peer = new PytorchPeer(child);
    peer.info = await peer.request({ op: 'info' });
    return peer;
  }

  request(message) {
    if (this.exited) return Promise.reject(new Error(`the PyTorch peer ${this.exited}`));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify(message) + '\n');
    });
  }

  close() {
    this.child.stdin.end();
  }
}

/** Float32Array weights as the peer reads them: base64 of the little-endian bytes. */
function encodeWeights(weights) {
  return Object.fromEntries(Object.entries(weights).map(([name, { shape, data }]) =>
    [name, { shape, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') }]));
}

const DESCRIPTIONS = {
  'pytorch-cpu': 'PyTorch CPU, eager, tensors in memory, threads = cores',
  'pytorch-cuda': 'PyTorch CUDA, eager, tensors on the GPU',
  'pytorch-cuda-graphs': 'PyTorch CUDA, each training step replayed as a CUDA graph',
  'pytorch-cpu-adam': 'PyTorch CPU, eager, Adam (its default foreach implementation)',
  'pytorch-cuda-adam': 'PyTorch CUDA, eager, Adam (its default foreach implementation)',
  'pytorch-cuda-graphs-adam': 'PyTorch CUDA, each training step replayed as a CUDA graph, Adam (capturable)',
};

/** One of the peer's systems (a key of DESCRIPTIONS), seen as a benchmarked system. */
export function pytorchSystem(peer, name) {
  return {
    name,
    description: DESCRIPTIONS[name],
    async prepare(batchSize, weights) {
      const adam = optimizerOf(name) === 'adam';
      await peer.request({ op: 'prepare', system: name, batchSize, optimizer: optimizerOf(name), lr: adam ? ADAM_LR : LR,
        momentum: MOMENTUM, seed: SHUFFLE_SEED, weights: encodeWeights(weights) });
    },
    async epoch() {
      const { seconds, samples } = await peer.request({ op: 'epoch', system: name });
      return { seconds, samples };
    },
    async evaluate() {
      return (await peer.request({ op: 'evaluate', system: name })).accuracy;
    },
    async release() {
      await peer.request({ op: 'release', system: name });
    },
  };
}

/** The peer's systems on `device` ('cpu' | 'cuda'). */
export function pytorchSystems(peer, device) {
  return Object.keys(DESCRIPTIONS).filter((name) => name.startsWith(`pytorch-${device}`)).map((name) => pytorchSystem(peer, name));
}
