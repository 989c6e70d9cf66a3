#!/usr/bin/env python3
"""Makes tests/fixtures/optim/training.json: 30 training steps of a small classifier in PyTorch,
one run per optimizer and schedule, from the same weights and the same batches.

The data (240 samples of 12 float features, 4 classes) and the initial weights of a
Linear(12, 24)-Tanh-Linear(24, 4) network come from a fixed seed and are stored in the fixture.
Each run takes the 240 samples in order, 24 per batch (10 steps an epoch, 3 epochs = 30 steps),
with softmax cross-entropy; per-epoch schedulers step after each 10 steps, OneCycleLR after every
step. Recorded: each step's loss (before the update) and the final parameters. tinynn's
tests/training-fixtures.test.ts trains the same way (an eager loop and Trainer.fit) and must match
within 1e-4.

Run from the repository root, with a venv holding CPU torch:
    .venv/bin/python scripts/make-training-fixtures.py
"""
import json
import pathlib

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / 'tests' / 'fixtures' / 'optim' / 'training.json'
SAMPLES, FEATURES, HIDDEN, CLASSES = 240, 12, 24, 4
BATCH, EPOCHS = 24, 3
STEPS_PER_EPOCH = SAMPLES // BATCH

# name, optimizer (torch class, kwargs), tinynn's optimizer options, scheduler (None or
# (torch class, kwargs, tinynn class, tinynn options, 'epoch' | 'step'))
CASES = [
    ('adam', torch.optim.Adam, dict(lr=0.01), dict(lr=0.01), None),
    ('adamw', torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, weightDecay=0.1), None),
    ('adamw-amsgrad', torch.optim.AdamW, dict(lr=0.01, amsgrad=True), dict(lr=0.01, amsgrad=True), None),
    ('rmsprop', torch.optim.RMSprop, dict(lr=0.003, momentum=0.5), dict(lr=0.003, momentum=0.5), None),
    ('sgd-cosine', torch.optim.SGD, dict(lr=0.2, momentum=0.9), dict(lr=0.2, momentum=0.9),
     (torch.optim.lr_scheduler.CosineAnnealingLR, dict(T_max=EPOCHS), 'CosineAnnealingLR', dict(tMax=EPOCHS), 'epoch')),
    ('sgd-onecycle', torch.optim.SGD, dict(lr=0.2, momentum=0.9), dict(lr=0.2, momentum=0.9),
     (torch.optim.lr_scheduler.OneCycleLR, dict(max_lr=0.5, total_steps=EPOCHS * STEPS_PER_EPOCH), 'OneCycleLR',
      dict(maxLr=0.5, totalSteps=EPOCHS * STEPS_PER_EPOCH), 'step')),
]


def main():
    g = torch.Generator().manual_seed(2026)
    x = torch.randn(SAMPLES, FEATURES, generator=g)
    # Labels a network can learn: the argmax of a fixed random projection, plus some noise.
    y = (x @ torch.randn(FEATURES, CLASSES, generator=g) + 0.3 * torch.randn(SAMPLES, CLASSES, generator=g)).argmax(1)
    torch.manual_seed(7)
    template = torch.nn.Sequential(torch.nn.Linear(FEATURES, HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, CLASSES))
    initial = {k: v.detach().clone() for k, v in template.state_dict().items()}

    cases = []
    for name, opt_cls, opt_kwargs, tinynn_options, scheduler in CASES:
        model = torch.nn.Sequential(torch.nn.Linear(FEATURES, HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, CLASSES))
        model.load_state_dict(initial)
        opt = opt_cls(model.parameters(), **opt_kwargs)
        sched = scheduler[0](opt, **scheduler[1]) if scheduler else None
        losses = []
        for epoch in range(EPOCHS):
            for s in range(STEPS_PER_EPOCH):
                xb, yb = x[s * BATCH:(s + 1) * BATCH], y[s * BATCH:(s + 1) * BATCH]
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                if sched and scheduler[4] == 'step':
                    sched.step()
            if sched and scheduler[4] == 'epoch':
                sched.step()
        cases.append({
            'name': name,
            'optimizer': opt_cls.__name__,
            'options': tinynn_options,
            'scheduler': None if not scheduler else {'name': scheduler[2], 'options': scheduler[3], 'every': scheduler[4]},
            'losses': losses,
            'final': {k: v.flatten().tolist() for k, v in model.state_dict().items()},
        })

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        'torch': torch.__version__,
        'batchSize': BATCH, 'epochs': EPOCHS,
        'features': x.flatten().tolist(), 'featureCount': FEATURES, 'labels': y.tolist(),
        'initial': {k: {'shape': list(v.shape), 'data': v.flatten().tolist()} for k, v in initial.items()},
        'cases': cases,
    }) + '\n')
    print(f'wrote {OUT.relative_to(ROOT)}: {len(cases)} runs of {EPOCHS * STEPS_PER_EPOCH} steps')


if __name__ == '__main__':
    main()
