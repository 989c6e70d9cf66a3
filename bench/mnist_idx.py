"""MNIST's IDX files (raw or .gz) for the benchmark's PyTorch peers."""
import gzip
import os

import torch


def read_idx(directory, name):
    """An IDX file (raw or .gz) as a uint8 tensor of its declared shape."""
    for candidate in (name, name + '.gz'):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            opener = gzip.open if candidate.endswith('.gz') else open
            with opener(path, 'rb') as f:
                raw = f.read()
            break
    else:
        raise FileNotFoundError(f'{name} (or {name}.gz) not found in {directory}')
    if raw[2] != 0x08:
        raise ValueError(f'{name}: expected unsigned-byte IDX data, got type 0x{raw[2]:02x}')
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(shape)
