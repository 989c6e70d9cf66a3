#!/usr/bin/env python3
"""Makes the PyTorch fixtures of the optimizers in tests/fixtures/optim/optimizers.json.

For each optimizer setting: two parameters (shapes [3, 4] and [5]) from a fixed seed, then 6
steps, each with given gradients (drawn here, stored in the fixture; the second parameter gets
none in step 3, so its step count falls behind). Recorded: the parameters after every step and
the final state (torch's state_dict names), all on the CPU in float32. tinynn's
tests/optimizers.test.ts replays the gradients and must end each step within 1e-6 relative.

Run from the repository root, with a venv holding CPU torch:
    .venv/bin/python scripts/make-optim-fixtures.py
"""
import json
import pathlib

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / 'tests' / 'fixtures' / 'optim' / 'optimizers.json'
STEPS = 6
SKIP = (2, 1)  # (step index, parameter index): no gradient for that parameter in that step

# name, torch class, torch kwargs, tinynn options (its names)
CASES = [
    ('sgd-nesterov-wd', torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
     dict(lr=0.1, momentum=0.9, nesterov=True, weightDecay=0.01)),
    ('adam', torch.optim.Adam, dict(lr=0.01), dict(lr=0.01)),
    ('adam-l2-amsgrad', torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True),
     dict(lr=0.02, betas=[0.8, 0.95], eps=1e-6, weightDecay=0.1, amsgrad=True)),
    ('adamw', torch.optim.AdamW, dict(lr=0.01), dict(lr=0.01)),
    ('adamw-wd-amsgrad', torch.optim.AdamW, dict(lr=0.05, weight_decay=0.5, amsgrad=True),
     dict(lr=0.05, weightDecay=0.5, amsgrad=True)),
    ('rmsprop', torch.optim.RMSprop, dict(lr=0.01), dict(lr=0.01)),
    ('rmsprop-centered-momentum-wd', torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.05, momentum=0.8, centered=True),
     dict(lr=0.01, alpha=0.9, eps=1e-6, weightDecay=0.05, momentum=0.8, centered=True)),
    ('rmsprop-momentum', torch.optim.RMSprop, dict(lr=0.005, momentum=0.5), dict(lr=0.005, momentum=0.5)),
]


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


def run(cls, kwargs, seed):
    g = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(3, 4, generator=g)), torch.nn.Parameter(torch.randn(5, generator=g))]
    initial = [flat(p) for p in params]
    opt = cls(params, **kwargs)
    grads, after = [], []
    for step in range(STEPS):
        step_grads = []
        for i, p in enumerate(params):
            if (step, i) == SKIP:
                p.grad = None
                step_grads.append(None)
            else:
                p.grad = torch.randn(p.shape, generator=g) * (1 + step)
                step_grads.append(flat(p.grad))
        opt.step()
        grads.append(step_grads)
        after.append([flat(p) for p in params])
    state = {}
    for i, p in enumerate(params):
        s = opt.state[p]
        state[i] = {k: (float(v) if k == 'step' else flat(v)) for k, v in s.items() if v is not None}
    return initial, grads, after, state


def main():
    torch.set_default_dtype(torch.float32)
    cases = []
    for k, (name, cls, kwargs, options) in enumerate(CASES):
        initial, grads, after, state = run(cls, kwargs, 100 + k)
        cases.append(dict(name=name, optimizer=cls.__name__, options=options, shapes=[[3, 4], [5]], initial=initial,
                          grads=grads, after=after, state=state))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(dict(torch=torch.__version__, steps=STEPS, cases=cases)) + '\n')
    print(f'wrote {OUT.relative_to(ROOT)}: {len(cases)} optimizers, torch {torch.__version__}')


if __name__ == '__main__':
    main()
