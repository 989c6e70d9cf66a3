#!/usr/bin/env python3
"""The PyTorch peer of `npm run bench:eager` (bench/eager.mjs): eager training of a custom module
and an eager-op micro-benchmark, run when asked so that its rounds interleave with tinynn's.

    python3 bench/eager_peer.py --mnist DIR --scale S --shift T [--threads N]

It speaks JSON lines like bench/pytorch_peer.py: one request on stdin, one reply on stdout
(stdout carries nothing else; diagnostics go to stderr). Replies: {"ok": true, ...} or
{"error": "..."}. Requests ("op"):
    info                                torch version, threads
    prepareTrain system weights batchSize lr momentum dropout seed
                                        builds Net from a safetensors file of its state_dict
                                        (fc1.weight, ...); system is one of TRAIN_SYSTEMS
    train     system steps              `steps` training steps, continuing the shuffled epoch
                                        where the last call stopped -> seconds, steps, samples
    phases    system steps              the same, each phase (batch, forward, loss, zero_grad,
                                        backward, step) timed apart -> seconds, phases
    evaluate  system                    eval-mode test accuracy and mean loss
    release   system                    frees the model
    prepareMicro rows cols seed         a, b: randn [rows, cols] with requires_grad
    micro     case iterations           runs one MICRO_CASES loop -> seconds, iterations

Timing is taken here, around the loop alone, so the request traffic is not counted.
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file
from mnist_idx import read_idx
from peer_protocol import peer_arguments, serve_requests


def load_mnist(directory, scale, shift):
    """{'train': (x float32 [N, 784], y int64 [N]), 'test': ...}, x = u8·scale + shift as in tinynn."""
    out = {}
    for split, prefix in (('train', 'train'), ('test', 't10k')):
        images = read_idx(directory, f'{prefix}-images-idx3-ubyte').reshape(-1, 784)
        labels = read_idx(directory, f'{prefix}-labels-idx1-ubyte').long()
        out[split] = (images.float() * scale + shift, labels)
    return out


class Net(nn.Module):
    """784-256-128-10: Linear-GELU-Dropout-Linear-GELU-Dropout-Linear, as bench/eager.mjs's Net."""

    def __init__(self, p):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        x = self.drop(F.gelu(self.fc1(x)))
        x = self.drop(F.gelu(self.fc2(x)))
        return self.fc3(x)


class IndexSelectBatches:
    """PyTorch at its best for in-memory data: one randperm per epoch, batches gathered with
    index_select from the whole normalised training set (what bench/pytorch_peer.py does)."""

    def __init__(self, x, y, batch_size, generator):
        self.x, self.y, self.batch_size, self.generator = x, y, batch_size, generator

    def __iter__(self):
        order = torch.randperm(self.x.shape[0], generator=self.generator)
        for first in range(0, self.x.shape[0], self.batch_size):
            idx = order[first:first + self.batch_size]
            yield self.x.index_select(0, idx), self.y.index_select(0, idx)


# system -> how its batches are made
TRAIN_SYSTEMS = {
    'pytorch-cpu': 'index_select batches from the in-memory training set (no DataLoader)',
    'pytorch-cpu-dataloader': 'torch.utils.data.DataLoader(TensorDataset(x, y), batch_size, shuffle=True), num_workers=0',
}


class TrainSession:
    """One system's model, optimiser, loss and endless stream of shuffled batches."""

    def __init__(self, mnist, system, weights, batch_size, lr, momentum, dropout, seed):
        if system not in TRAIN_SYSTEMS:
            raise ValueError(f'unknown system {system!r}; expected one of {", ".join(TRAIN_SYSTEMS)}')
        torch.manual_seed(seed)  # the dropout masks
        self.model = Net(dropout)
        self.model.load_state_dict(load_file(weights))
        self.model.train()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=momentum)
        self.loss_fn = nn.CrossEntropyLoss()
        x, y = mnist['train']
        self.test_x, self.test_y = mnist['test']
        generator = torch.Generator()
        generator.manual_seed(seed)
        if system == 'pytorch-cpu':
            self.loader = IndexSelectBatches(x, y, batch_size, generator)
        else:
            self.loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size,
                                                      shuffle=True, generator=generator)
        self.batches = iter(self.loader)

    def next_batch(self):
        try:
            return next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)

    def train(self, steps):
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer
        samples = 0
        start = time.perf_counter()
        for _ in range(steps):
            x, y = self.next_batch()
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            samples += x.shape[0]
        return {'seconds': time.perf_counter() - start, 'steps': steps, 'samples': samples, 'lastLoss': loss.item()}

    def phases(self, steps):
        """The same steps with each phase timed apart: where a step's time goes."""
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer
        acc = dict.fromkeys(('batch', 'forward', 'loss', 'zeroGrad', 'backward', 'step'), 0.0)
        t = start = time.perf_counter()

        def lap(phase):
            nonlocal t
            t1 = time.perf_counter()
            acc[phase] += t1 - t
            t = t1

        for _ in range(steps):
            x, y = self.next_batch(); lap('batch')
            logits = model(x); lap('forward')
            loss = loss_fn(logits, y); lap('loss')
            optimizer.zero_grad(); lap('zeroGrad')
            loss.backward(); lap('backward')
            optimizer.step(); lap('step')
        return {'seconds': time.perf_counter() - start, 'steps': steps, 'phases': acc}

    @torch.no_grad()
    def evaluate(self):
        self.model.eval()
        logits = torch.cat([self.model(chunk) for chunk in self.test_x.split(1000)])
        self.model.train()
        return {'accuracy': (logits.argmax(1) == self.test_y).float().mean().item(),
                'loss': F.cross_entropy(logits, self.test_y).item()}


class Micro:
    """a, b: [rows, cols] leaves with requires_grad; each case is the loop a user would write."""

    def __init__(self, rows, cols, seed):
        g = torch.Generator()
        g.manual_seed(seed)
        self.a = torch.randn(rows, cols, generator=g).requires_grad_()
        self.b = torch.randn(rows, cols, generator=g).requires_grad_()

    def run(self, case, iterations):
        a, b = self.a, self.b
        if case == 'addSumBackward':
            start = time.perf_counter()
            for _ in range(iterations):
                c = a.add(b)
                c.sum().backward()
        elif case == 'addForward':
            start = time.perf_counter()
            for _ in range(iterations):
                c = a.add(b)
        elif case == 'addForwardNoGrad':
            with torch.no_grad():
                start = time.perf_counter()
                for _ in range(iterations):
                    c = a.add(b)
        else:
            raise ValueError(f'unknown micro case {case!r}')
        seconds = time.perf_counter() - start
        del c
        a.grad = None  # the accumulated gradients are not needed
        b.grad = None
        return {'seconds': seconds, 'iterations': iterations}


def serve(mnist):
    sessions = {}
    micro = {}

    def prepare_train(r):
        sessions.pop(r['system'], None)
        sessions[r['system']] = TrainSession(mnist, r['system'], r['weights'], r['batchSize'], r['lr'], r['momentum'],
                                             r['dropout'], r['seed'])

    def prepare_micro(r):
        micro['m'] = Micro(r['rows'], r['cols'], r['seed'])

    handlers = {
        'info': lambda r: {'torch': torch.__version__, 'threads': torch.get_num_threads(),
                           'interopThreads': torch.get_num_interop_threads(), 'python': sys.version.split()[0],
                           'trainSystems': TRAIN_SYSTEMS},
        'prepareTrain': prepare_train,
        'train': lambda r: sessions[r['system']].train(r['steps']),
        'phases': lambda r: sessions[r['system']].phases(r['steps']),
        'evaluate': lambda r: sessions[r['system']].evaluate(),
        'release': lambda r: sessions.pop(r['system'], None) and None,
        'prepareMicro': prepare_micro,
        'micro': lambda r: micro['m'].run(r['case'], r['iterations']),
    }
    serve_requests(handlers)


def main():
    args = peer_arguments(__doc__.split('\n')[0])
    torch.set_num_threads(args.threads)
    serve(load_mnist(args.mnist, args.scale, args.shift))


if __name__ == '__main__':
    main()
