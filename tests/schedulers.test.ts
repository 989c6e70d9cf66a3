// The learning-rate schedulers against PyTorch (tests/fixtures/optim/schedulers.json, made by
// scripts/make-scheduler-fixtures.py): two parameter groups, the lrs (and OneCycleLR's momentum or
// beta1) after construction and after every step, within 1e-12 relative; then stateDict /
// loadStateDict and bad settings.
import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { nn, optim, tensor } from '../dist/index.js';

interface Case {
  name: string;
  optimizer: 'sgd' | 'adam' | 'rmsprop';
  scheduler: string;
  options: Record<string, unknown>;
  steps: number;
  lrs: number[][];
  momenta: number[][];
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'optim', 'schedulers.json'), 'utf8')) as { metrics: number[]; cases: Case[] };

const param = (n: number) => new nn.Parameter(tensor(new Float32Array(n)).native, true);
function makeOptimizer(kind: Case['optimizer']) {
  const groups = [{ params: [param(2)], lr: 0.1 }, { params: [param(3)], lr: 0.01 }];
  if (kind === 'sgd') return new optim.SGD(groups, { lr: 0.1, momentum: 0.9 });
  if (kind === 'adam') return new optim.Adam(groups, { lr: 0.1 });
  return new optim.RMSprop(groups, { lr: 0.1, momentum: 0.5 });
}
type AnyOpt = ReturnType<typeof makeOptimizer>;
function makeScheduler(name: string, opt: AnyOpt, options: Record<string, unknown>) {
  const o = opt as unknown as optim.SGD;
  switch (name) {
    case 'StepLR': return new optim.StepLR(o, options as never);
    case 'MultiStepLR': return new optim.MultiStepLR(o, options as never);
    case 'ExponentialLR': return new optim.ExponentialLR(o, options as never);
    case 'CosineAnnealingLR': return new optim.CosineAnnealingLR(o, options as never);
    case 'LinearLR': return new optim.LinearLR(o, options as never);
    case 'OneCycleLR': return new optim.OneCycleLR(o, options as never);
    case 'ReduceLROnPlateau': return new optim.ReduceLROnPlateau(o, options as never);
  }
  throw new Error(name);
}
const lrs = (opt: AnyOpt) => opt.paramGroups.map((g) => g.options.lr);
const momenta = (opt: AnyOpt) => opt.paramGroups.map((g) => {
  const o = g.options as { momentum?: number; betas?: number[] };
  return o.betas ? o.betas[0] : o.momentum!;
});
const close = (got: number[], want: number[], what: string) => {
  got.forEach((v, k) => expect(Math.abs(v - want[k]), `${what} group ${k}: ${v} vs ${want[k]}`).toBeLessThanOrEqual(1e-12 * Math.max(1e-3, Math.abs(want[k]))));
};

describe('schedulers match PyTorch', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: lrs${c.scheduler === 'OneCycleLR' ? ' and momenta' : ''} over ${c.steps} steps`, () => {
      const opt = makeOptimizer(c.optimizer);
      const sched = makeScheduler(c.scheduler, opt, c.options);
      close(lrs(opt), c.lrs[0], `${c.name} after construction`);
      for (let k = 0; k < c.steps; k++) {
        if (sched instanceof optim.ReduceLROnPlateau) sched.step(fixture.metrics[k]);
        else sched.step();
        close(lrs(opt), c.lrs[k + 1], `${c.name} step ${k + 1}`);
        close(sched.getLastLr(), c.lrs[k + 1], `${c.name} getLastLr step ${k + 1}`);
        if (c.scheduler === 'OneCycleLR') close(momenta(opt), c.momenta[k + 1], `${c.name} momentum step ${k + 1}`);
      }
    });
  }
});

describe('scheduler API', () => {
  it('stateDict / loadStateDict resume a schedule where it stopped', () => {
    const a = makeOptimizer('sgd'), b = makeOptimizer('sgd');
    const whole = new optim.CosineAnnealingLR(a as optim.SGD, { tMax: 7 });
    for (let k = 0; k < 10; k++) whole.step();
    const first = new optim.CosineAnnealingLR(b as optim.SGD, { tMax: 7 });
    for (let k = 0; k < 4; k++) first.step();
    const saved = first.stateDict();
    const savedLrs = lrs(b);
    const c = makeOptimizer('sgd');
    c.paramGroups.forEach((g, k) => { g.options = { ...g.options, lr: savedLrs[k] }; });
    const resumed = new optim.CosineAnnealingLR(c as optim.SGD, { tMax: 7 });
    resumed.loadStateDict(saved);
    c.paramGroups.forEach((g, k) => { g.options = { ...g.options, lr: savedLrs[k] }; });
    for (let k = 0; k < 6; k++) resumed.step();
    expect(lrs(c)).toEqual(lrs(a));
  });

  it('OneCycleLR refuses a step past its cycle and an optimizer without momentum', () => {
    const s = new optim.OneCycleLR(makeOptimizer('sgd') as optim.SGD, { maxLr: 1, totalSteps: 3 });
    for (let k = 0; k < 3; k++) s.step();
    expect(() => s.step()).toThrow(/tried to step 4 times; the cycle has 3 steps/);
    expect(() => new optim.OneCycleLR(makeOptimizer('sgd') as optim.SGD, { maxLr: 1 })).toThrow(/totalSteps, or epochs and stepsPerEpoch/);
  });

  it('bad settings are TypeErrors or RangeErrors naming them', () => {
    const opt = makeOptimizer('sgd') as optim.SGD;
    expect(() => new optim.StepLR(opt, { stepSize: 0 })).toThrow(/StepLR stepSize must be an integer >= 1/);
    expect(() => new optim.MultiStepLR(opt, { milestones: 3 as never })).toThrow(TypeError);
    expect(() => new optim.ExponentialLR(opt, { gamma: Number.NaN })).toThrow(RangeError);
    expect(() => new optim.LinearLR(opt, { startFactor: 0 })).toThrow(/startFactor must be in \(0, 1\]/);
    expect(() => new optim.ReduceLROnPlateau(opt, { factor: 1 })).toThrow(/factor must be in \[0, 1\)/);
    expect(() => new optim.ReduceLROnPlateau(opt).step(Number.NaN)).toThrow(TypeError);
    expect(() => new optim.OneCycleLR(opt, { maxLr: [1], totalSteps: 5 })).toThrow(/1 values for 2 param groups/);
    expect(() => new optim.StepLR({} as never, { stepSize: 1 })).toThrow(TypeError);
  });
});
