#!/usr/bin/env python3
"""Makes the PyTorch fixtures of the learning-rate schedulers in tests/fixtures/optim/schedulers.json.

Each case: an optimizer over two parameter groups (lr 0.1 and 0.01), a scheduler, and the lrs (and,
for OneCycleLR, the momentum or beta1) of every group after construction and after each of
`steps` step() calls; ReduceLROnPlateau is stepped with a fixed sequence of metrics. tinynn's
tests/schedulers.test.ts runs the same and must get the same values (within 1e-12 relative).

Run from the repository root, with a venv holding CPU torch:
    .venv/bin/python scripts/make-scheduler-fixtures.py
"""
import json
import pathlib

import torch
from torch.optim import lr_scheduler as S

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / 'tests' / 'fixtures' / 'optim' / 'schedulers.json'
METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]

# name, optimizer ('sgd' | 'adam' | 'rmsprop'), torch scheduler factory, tinynn class, tinynn options, steps
CASES = [
    ('step', 'sgd', lambda o: S.StepLR(o, step_size=3, gamma=0.5), 'StepLR', dict(stepSize=3, gamma=0.5), 12),
    ('multistep', 'sgd', lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), 'MultiStepLR',
     dict(milestones=[2, 5, 5, 9], gamma=0.3), 12),
    ('exponential', 'adam', lambda o: S.ExponentialLR(o, gamma=0.9), 'ExponentialLR', dict(gamma=0.9), 10),
    ('cosine', 'sgd', lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.001), 'CosineAnnealingLR',
     dict(tMax=5, etaMin=0.001), 23),
    ('linear-warmup', 'sgd', lambda o: S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=4), 'LinearLR',
     dict(startFactor=0.1, endFactor=1.0, totalIters=4), 8),
    ('linear-decay', 'rmsprop', lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.25, total_iters=6), 'LinearLR',
     dict(startFactor=1.0, endFactor=0.25, totalIters=6), 9),
    ('onecycle-sgd', 'sgd', lambda o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=20), 'OneCycleLR',
     dict(maxLr=[1.0, 0.5], totalSteps=20), 20),
    ('onecycle-adam-linear-3phase', 'adam', lambda o: S.OneCycleLR(o, max_lr=0.01, epochs=3, steps_per_epoch=5, pct_start=0.4,
     anneal_strategy='linear', three_phase=True, div_factor=10, final_div_factor=100), 'OneCycleLR',
     dict(maxLr=0.01, epochs=3, stepsPerEpoch=5, pctStart=0.4, annealStrategy='linear', threePhase=True, divFactor=10,
          finalDivFactor=100), 15),
    ('onecycle-rmsprop-no-momentum-cycle', 'rmsprop', lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, cycle_momentum=False),
     'OneCycleLR', dict(maxLr=0.1, totalSteps=10, cycleMomentum=False), 10),
    ('plateau-min', 'sgd', lambda o: S.ReduceLROnPlateau(o, patience=2, factor=0.5, cooldown=1, min_lr=[0.01, 0.004]),
     'ReduceLROnPlateau', dict(patience=2, factor=0.5, cooldown=1, minLr=[0.01, 0.004]), len(METRICS)),
    ('plateau-max-abs', 'adam', lambda o: S.ReduceLROnPlateau(o, mode='max', threshold=0.05, threshold_mode='abs', patience=1),
     'ReduceLROnPlateau', dict(mode='max', threshold=0.05, thresholdMode='abs', patience=1), len(METRICS)),
]


def optimizer(kind):
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
    groups = [{'params': [a], 'lr': 0.1}, {'params': [b], 'lr': 0.01}]
    if kind == 'sgd':
        return torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    if kind == 'adam':
        return torch.optim.Adam(groups, lr=0.1)
    return torch.optim.RMSprop(groups, lr=0.1, momentum=0.5)


def momenta(opt):
    return [g['betas'][0] if 'betas' in g else g['momentum'] for g in opt.param_groups]


def main():
    cases = []
    for name, kind, make, cls, options, steps in CASES:
        opt = optimizer(kind)
        sched = make(opt)
        lrs, moms = [[g['lr'] for g in opt.param_groups]], [momenta(opt)]
        for k in range(steps):
            opt.step()
            if cls == 'ReduceLROnPlateau':
                sched.step(METRICS[k])
            else:
                sched.step()
            lrs.append([g['lr'] for g in opt.param_groups])
            moms.append(momenta(opt))
        cases.append(dict(name=name, optimizer=kind, scheduler=cls, options=options, steps=steps, lrs=lrs, momenta=moms))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(dict(torch=torch.__version__, metrics=METRICS, cases=cases)) + '\n')
    print(f'wrote {OUT.relative_to(ROOT)}: {len(cases)} schedulers, torch {torch.__version__}')


if __name__ == '__main__':
    main()
