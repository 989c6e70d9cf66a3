// The optimizers against PyTorch (tests/fixtures/optim, made by scripts/make-optim-fixtures.py):
// SGD, Adam, AdamW and RMSprop with their options, 6 steps from the same parameters with the same
// gradients (one parameter skipping a step), parameters after each step and the final state
// within 1e-6; then param groups, lr changes, stateDict / loadStateDict and bad settings.
import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { nn, optim, tensor, type Tensor } from '../dist/index.js';
import { scaledErr } from './helpers/reference';

interface Case {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';
  options: Record<string, unknown>;
  shapes: number[][];
  initial: number[][];
  grads: (number[] | null)[][];
  after: number[][][];
  state: Record<string, Record<string, number | number[]>>;
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'optim', 'optimizers.json'), 'utf8')) as { cases: Case[] };

type AnyOptimizer = optim.SGD | optim.Adam | optim.AdamW | optim.RMSprop;
const make = (kind: Case['optimizer'], params: Iterable<nn.Parameter>, options: Record<string, unknown>): AnyOptimizer => {
  switch (kind) {
    case 'SGD': return new optim.SGD(params, options as unknown as optim.SGDOptions);
    case 'Adam': return new optim.Adam(params, options);
    case 'AdamW': return new optim.AdamW(params, options);
    case 'RMSprop': return new optim.RMSprop(params, options);
  }
};
const parameter = (values: number[], shape: number[]) => new nn.Parameter(tensor(values, { shape }).native, true);
const setGrad = (p: nn.Parameter, g: number[] | null) => {
  p.grad?.dispose();
  p.grad = g ? tensor(g, { shape: [...p.shape] }) : null;
};

describe('optimizers match PyTorch', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: parameters after each of 6 steps and the final state within 1e-6`, () => {
      const params = c.initial.map((v, i) => parameter(v, c.shapes[i]));
      const opt = make(c.optimizer, params, c.options);
      c.grads.forEach((grads, step) => {
        params.forEach((p, i) => setGrad(p, grads[i]));
        opt.step();
        params.forEach((p, i) => {
          const err = scaledErr(p.toArray(), c.after[step][i]);
          expect(err, `${c.name} step ${step + 1} param ${i}`).toBeLessThan(1e-6);
        });
      });
      const { state } = opt.stateDict();
      for (const [i, want] of Object.entries(c.state)) {
        const got = state[Number(i)];
        for (const [name, value] of Object.entries(want)) {
          if (name === 'step') expect(got.step, `${c.name} state[${i}].step`).toBe(value);
          else expect(scaledErr((got[name] as Tensor).toArray(), value as number[]), `${c.name} state[${i}].${name}`).toBeLessThan(1e-6);
        }
      }
    });
  }
});

describe('optimizer API', () => {
  const adamCase = fixture.cases.find((c) => c.name === 'adam')!;
  const fresh = () => adamCase.initial.map((v, i) => parameter(v, adamCase.shapes[i]));
  const replay = (opt: AnyOptimizer, params: nn.Parameter[], steps: number[]) => {
    for (const step of steps) {
      params.forEach((p, i) => setGrad(p, adamCase.grads[step][i]));
      opt.step();
    }
  };

  it('param groups with their own lr equal one optimizer per group', () => {
    const [a, b] = fresh();
    const grouped = new optim.Adam([{ params: [a], lr: 0.05 }, { params: [b] }], { lr: 0.01 });
    expect(grouped.paramGroups.map((g) => g.options.lr)).toEqual([0.05, 0.01]);
    const [a2, b2] = fresh();
    const first = new optim.Adam([a2], { lr: 0.05 }), second = new optim.Adam([b2], { lr: 0.01 });
    for (let step = 0; step < 6; step++) {
      [a, b].forEach((p, i) => setGrad(p, adamCase.grads[step][i]));
      [a2, b2].forEach((p, i) => setGrad(p, adamCase.grads[step][i]));
      grouped.step();
      first.step();
      second.step();
    }
    expect(Array.from(a.toArray())).toEqual(Array.from(a2.toArray()));
    expect(Array.from(b.toArray())).toEqual(Array.from(b2.toArray()));
  });

  it('lr is readable and settable; a change applies from the next step', () => {
    const params = fresh();
    const opt = new optim.SGD(params, { lr: 0.1 });
    expect(opt.lr).toBe(0.1);
    opt.lr = 0;
    const before = params.map((p) => Array.from(p.toArray()));
    replay(opt, params, [0]);
    expect(params.map((p) => Array.from(p.toArray()))).toEqual(before);
    expect(() => { opt.lr = -1; }).toThrow(RangeError);
    expect(opt.lr).toBe(0);
  });

  it('stateDict / loadStateDict: 3 steps, a new optimizer loaded from the dict, 3 more = 6 uninterrupted, bit for bit', () => {
    for (const kind of ['SGD', 'Adam', 'AdamW', 'RMSprop'] as const) {
      const options = kind === 'SGD' ? { lr: 0.05, momentum: 0.9 } : kind === 'RMSprop' ? { momentum: 0.5, centered: true } : { amsgrad: true };
      const whole = fresh();
      replay(make(kind, whole, options), whole, [0, 1, 2, 3, 4, 5]);
      const resumed = fresh();
      const firstHalf = make(kind, resumed, options);
      replay(firstHalf, resumed, [0, 1, 2]);
      const dict = firstHalf.stateDict();
      const second = make(kind, resumed, options);
      second.loadStateDict(dict);
      replay(second, resumed, [3, 4, 5]);
      resumed.forEach((p, i) => expect(Array.from(p.toArray()), `${kind} param ${i}`).toEqual(Array.from(whole[i].toArray())));
    }
  });

  it('loadStateDict refuses a dict that does not fit, changing nothing', () => {
    const params = fresh();
    const opt = new optim.Adam(params, { lr: 0.01 });
    replay(opt, params, [0]);
    const good = opt.stateDict();
    const other = new optim.Adam([parameter([1, 2], [2])], { lr: 0.01 });
    expect(() => other.loadStateDict(good)).toThrow(RangeError);
    const wrongShape = { ...good, state: { ...good.state, 1: { ...good.state[1], exp_avg: tensor([1, 2]) } } };
    expect(() => opt.loadStateDict(wrongShape)).toThrow(/state\[1\]\.exp_avg must be a float32 tensor of shape \[5\]/);
    expect(() => opt.loadStateDict({ ...good, state: { 7: { step: 1 } } })).toThrow(/parameter 7/);
    expect(() => opt.loadStateDict({ ...good, paramGroups: [{ ...good.paramGroups[0], lr: -1 }] })).toThrow(RangeError);
    expect(() => opt.loadStateDict(null as never)).toThrow(TypeError);
    // Nothing changed: the next step equals the uninterrupted run's.
    const whole = fresh();
    replay(new optim.Adam(whole, { lr: 0.01 }), whole, [0, 1]);
    replay(opt, params, [1]);
    params.forEach((p, i) => expect(Array.from(p.toArray())).toEqual(Array.from(whole[i].toArray())));
  });

  it('bad settings and params are TypeErrors or RangeErrors naming them', () => {
    const [p] = fresh();
    expect(() => new optim.Adam([p], { betas: [0.9, 1] })).toThrow(/Adam betas\[1\] must be in \[0, 1\)/);
    expect(() => new optim.Adam([p], { betas: 0.9 as never })).toThrow(TypeError);
    expect(() => new optim.AdamW([p], { weightDecay: -1 })).toThrow(/AdamW weightDecay must be a finite number >= 0/);
    expect(() => new optim.RMSprop([p], { alpha: 1.5 })).toThrow(/RMSprop alpha must be in \[0, 1\)/);
    expect(() => new optim.RMSprop([p], { centered: 'yes' as never })).toThrow(TypeError);
    expect(() => new optim.Adam([], {})).toThrow(/empty parameter list/);
    expect(() => new optim.Adam([p, p], {})).toThrow(/appears twice/);
    expect(() => new optim.Adam([tensor([1]) as never], {})).toThrow(/must be a Parameter/);
    expect(() => new optim.SGD([p], { lr: Number.NaN })).toThrow(RangeError);
  });

  it('defaults are PyTorch\'s', () => {
    const [p] = fresh();
    expect(new optim.Adam([p]).paramGroups[0].options).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false });
    expect(new optim.AdamW([p]).paramGroups[0].options.weightDecay).toBe(0.01);
    expect(new optim.RMSprop([p]).paramGroups[0].options).toEqual({ lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false });
  });
});
