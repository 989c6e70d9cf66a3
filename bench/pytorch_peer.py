#!/usr/bin/env python3
"""The PyTorch peer of `npm run bench`: trains the 784-128-10 MLP on MNIST when asked.

bench/run.mjs starts it once and keeps it running, so PyTorch's epochs interleave with tinynn's
and TensorFlow.js's in one invocation. It speaks JSON lines: one request on stdin, one reply on
stdout (stdout carries nothing else; diagnostics go to stderr).

    python3 bench/pytorch_peer.py --mnist DIR --scale S --shift T [--threads N]

Replies: {"ok": true, ...} or {"error": "..."}. Requests ("op"):
    info                            torch version, threads, CUDA device (or why none)
    prepare   system batchSize optimizer lr momentum seed weights
                                    builds a model from the given weights (name -> {shape, data:
                                    base64 little-endian float32}); system is one of SYSTEMS,
                                    optimizer 'sgd' (with momentum) or 'adam' (PyTorch's defaults)
    epoch     system                one shuffled pass over the training set -> seconds, samples
    evaluate  system                test-set accuracy and mean loss
    release   system                frees the model
    sgemmPeak device seconds        GFLOP/s of a large square fp32 matmul (a proxy for the peak)

PyTorch is run at its best for this job: the whole normalised training set as one float32
tensor on the device, batches gathered with index_select (no DataLoader), threads = cores.
"""
import base64
import time

import torch
import torch.nn.functional as F
from mnist_idx import read_idx
from peer_protocol import peer_arguments, serve_requests

# system -> (device, whether the training step replays as a CUDA graph)
SYSTEMS = {
    'pytorch-cpu': ('cpu', False),
    'pytorch-cuda': ('cuda', False),
    'pytorch-cuda-graphs': ('cuda', True),
    'pytorch-cpu-adam': ('cpu', False),
    'pytorch-cuda-adam': ('cuda', False),
    'pytorch-cuda-graphs-adam': ('cuda', True),
}
GRAPH_WARMUP_STEPS = 3  # eager steps on a side stream before capture, as torch.cuda.graph asks


class Mnist:
    """The MNIST splits as normalised float32 [N, 784] images and int64 labels, per device."""

    def __init__(self, directory, scale, shift):
        self.host = {}
        for split, prefix in (('train', 'train'), ('test', 't10k')):
            images = read_idx(directory, f'{prefix}-images-idx3-ubyte').reshape(-1, 784)
            labels = read_idx(directory, f'{prefix}-labels-idx1-ubyte').long()
            # The same affine map as tinynn's: x = u8·scale + shift.
            self.host[split] = (images.float() * scale + shift, labels)
        self.on_device = {'cpu': self.host}

    def get(self, device):
        if device not in self.on_device:
            self.on_device[device] = {k: (x.to(device), y.to(device)) for k, (x, y) in self.host.items()}
        return self.on_device[device]


def tensor_from_record(record, device):
    data = torch.frombuffer(bytearray(base64.b64decode(record['data'])), dtype=torch.float32)
    return data.reshape(record['shape']).to(device)


class Session:
    """One system's model, optimiser and data at one batch size."""

    def __init__(self, mnist, system, batch_size, optimizer, lr, momentum, seed, weights):
        if system not in SYSTEMS:
            raise ValueError(f'unknown system {system!r}; expected one of {", ".join(SYSTEMS)}')
        device, self.graphed = SYSTEMS[system]
        if device == 'cuda' and not torch.cuda.is_available():
            raise RuntimeError('CUDA is not available to PyTorch here')
        self.device = torch.device(device)
        self.batch_size = batch_size
        data = mnist.get(device)
        self.x, self.y = data['train']
        self.test_x, self.test_y = data['test']
        self.model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(self.device)
        self.model.load_state_dict({name: tensor_from_record(rec, self.device) for name, rec in weights.items()})
        self.lr = lr
        if optimizer == 'adam':
            # capturable: Adam keeps its step count on the device, as a graph replay needs.
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr, capturable=self.graphed)
        elif optimizer == 'sgd':
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=momentum)
        else:
            raise ValueError(f"unknown optimizer {optimizer!r}; expected 'sgd' or 'adam'")
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.graph = self.capture_step() if self.graphed else None

    def step(self, idx):
        loss = F.cross_entropy(self.model(self.x.index_select(0, idx)), self.y.index_select(0, idx))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def capture_step(self):
        """Captures gather + forward + backward + SGD at this batch size as one CUDA graph that
        reads its batch's indices from self.graph_idx. The warm-up steps run with lr 0 and the
        optimizer's state is zeroed after them, so training starts from the given weights exactly
        as the eager systems do (SGD with a zero buffer and no dampening takes buf = grad; Adam
        with zero moments and step count is a fresh Adam)."""
        self.graph_idx = torch.randperm(self.x.shape[0], device=self.device)[:self.batch_size]
        for group in self.optimizer.param_groups:
            group['lr'] = 0.0
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(GRAPH_WARMUP_STEPS):
                self.step(self.graph_idx)
        torch.cuda.current_stream().wait_stream(side)
        for state in self.optimizer.state.values():
            for value in state.values():
                value.zero_()
        for group in self.optimizer.param_groups:
            group['lr'] = self.lr  # a Python float: baked into the captured kernels
        graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            loss = F.cross_entropy(self.model(self.x.index_select(0, self.graph_idx)), self.y.index_select(0, self.graph_idx))
            loss.backward()
            self.optimizer.step()
        return graph

    def sync(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    def epoch(self):
        n, b = self.x.shape[0], self.batch_size
        self.sync()
        start = time.perf_counter()
        order = torch.randperm(n, generator=self.generator, device=self.device)
        for first in range(0, n, b):
            idx = order[first:first + b]
            if self.graph is not None and idx.shape[0] == b:
                self.graph_idx.copy_(idx)
                self.graph.replay()
            else:
                # The last, smaller batch runs eagerly; it updates the same parameter and momentum
                # tensors in place, which the graph reads on its next replay.
                self.step(idx)
        self.sync()
        return {'seconds': time.perf_counter() - start, 'samples': n}

    @torch.no_grad()
    def evaluate(self):
        logits = torch.cat([self.model(chunk) for chunk in self.test_x.split(1000)])
        loss = F.cross_entropy(logits, self.test_y).item()
        accuracy = (logits.argmax(1) == self.test_y).float().mean().item()
        return {'accuracy': accuracy, 'loss': loss}


def sgemm_peak(device, seconds):
    """GFLOP/s of n×n×n fp32 matmuls for about `seconds`, after one untimed call (PyTorch's
    default fp32 matmul precision: no TF32)."""
    n = 8192 if device == 'cuda' else 2048
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    c = torch.empty(n, n, device=device)
    torch.mm(a, b, out=c)
    calls, start = 0, time.perf_counter()
    while True:
        torch.mm(a, b, out=c)
        calls += 1
        if device == 'cuda':
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return {'gflops': 2 * n ** 3 * calls / elapsed / 1e9}


def info():
    cuda = torch.cuda.is_available()
    return {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'cuda': cuda,
            'cudaDevice': torch.cuda.get_device_name(0) if cuda else None,
            'cudaReason': '' if cuda else f'torch {torch.__version__} sees no CUDA device'}


def serve(mnist):
    sessions = {}  # system -> Session

    def prepare(r):
        sessions.pop(r['system'], None)  # frees the old model before the new one is built
        sessions[r['system']] = Session(mnist, r['system'], r['batchSize'], r.get('optimizer', 'sgd'), r['lr'], r['momentum'],
                                        r['seed'], r['weights'])

    def release(r):
        sessions.pop(r['system'], None)

    handlers = {
        'info': lambda r: info(),
        'prepare': prepare,
        'epoch': lambda r: sessions[r['system']].epoch(),
        'evaluate': lambda r: sessions[r['system']].evaluate(),
        'release': release,
        'sgemmPeak': lambda r: sgemm_peak(r['device'], r['seconds']),
    }
    serve_requests(handlers)


def main():
    args = peer_arguments(__doc__.split('\n')[0])
    torch.set_num_threads(args.threads)
    serve(Mnist(args.mnist, args.scale, args.shift))


if __name__ == '__main__':
    main()
