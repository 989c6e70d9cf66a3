// OneCycleLR with torch.optim.lr_scheduler.OneCycleLR's semantics: the lr rises from
// maxLr/divFactor to maxLr over pctStart of the steps, then anneals to initial/finalDivFactor,
// stepped once per batch; the momentum (SGD, RMSprop) or beta1 (Adam) cycles the other way.
import { describe } from '../device';
import { LRScheduler, type SchedulerStateDict } from './lr-scheduler';
import type { Optimizer } from './optimizer';

type AnyOptimizer = Optimizer<{ lr: number }, { lr: number }>;
type Group = AnyOptimizer['paramGroups'][number];

/** Options for {@link OneCycleLR}; names and defaults as in PyTorch. */
export interface OneCycleLROptions {
  /** The peak lr: one for all groups, or one per group. */
  maxLr: number | readonly number[];
  /** The number of steps in the cycle, or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Share of the cycle spent rising, default 0.3. */
  pctStart?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle the momentum (or Adam's beta1) inversely to the lr, default true. */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  /** The first lr is maxLr / divFactor (default 25); the last, that / finalDivFactor (default 1e4). */
  divFactor?: number;
  finalDivFactor?: number;
  /** A third phase: back down to the first lr, then the final annealing; default false. */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  lr: [start: 'initial' | 'max' | 'min', end: 'initial' | 'max' | 'min'];
  momentum: [start: 'max' | 'base', end: 'max' | 'base'];
}

interface GroupCycle {
  initial: number;
  max: number;
  min: number;
  maxMomentum: number;
  baseMomentum: number;
}

function check(name: string, v: unknown, ok: (x: number) => boolean, expected: string): number {
  if (typeof v !== 'number' || !ok(v)) throw new RangeError(`OneCycleLR ${name} must be ${expected}, got ${describe(v)}`);
  return v;
}

/** One cycle of lr (and momentum) over totalSteps batches (torch.optim.lr_scheduler.OneCycleLR). */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  private readonly phases: Phase[];
  private readonly cycles: GroupCycle[];
  private readonly anneal: (start: number, end: number, pct: number) => number;
  private readonly cycleMomentum: boolean;

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    super('OneCycleLR', optimizer);
    if (options === null || typeof options !== 'object') throw new TypeError(`OneCycleLR options must be an object, got ${describe(options)}`);
    const positiveInt = (x: number) => Number.isInteger(x) && x >= 1;
    if (options.totalSteps !== undefined) {
      this.totalSteps = check('totalSteps', options.totalSteps, positiveInt, 'an integer >= 1');
    } else if (options.epochs !== undefined && options.stepsPerEpoch !== undefined) {
      this.totalSteps = check('epochs', options.epochs, positiveInt, 'an integer >= 1') *
        check('stepsPerEpoch', options.stepsPerEpoch, positiveInt, 'an integer >= 1');
    } else {
      throw new TypeError('OneCycleLR needs totalSteps, or epochs and stepsPerEpoch');
    }
    const pctStart = check('pctStart', options.pctStart ?? 0.3, (x) => x >= 0 && x <= 1, 'in [0, 1]');
    const strategy = options.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') throw new RangeError(`OneCycleLR annealStrategy must be 'cos' or 'linear', got ${describe(strategy)}`);
    this.anneal = strategy === 'cos'
      ? (start, end, pct) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1)
      : (start, end, pct) => (end - start) * pct + start;
    const positive = (x: number) => Number.isFinite(x) && x > 0;
    const divFactor = check('divFactor', options.divFactor ?? 25, positive, 'a finite number > 0');
    const finalDivFactor = check('finalDivFactor', options.finalDivFactor ?? 1e4, positive, 'a finite number > 0');
    const groups = optimizer.paramGroups;
    const maxLrs = Array.isArray(options.maxLr) ? options.maxLr : groups.map(() => options.maxLr as number);
    if (maxLrs.length !== groups.length) throw new RangeError(`OneCycleLR maxLr has ${maxLrs.length} values for ${groups.length} param groups`);
    const baseMomentum = check('baseMomentum', options.baseMomentum ?? 0.85, (x) => x >= 0 && x < 1, 'in [0, 1)');
    const maxMomentum = check('maxMomentum', options.maxMomentum ?? 0.95, (x) => x >= 0 && x < 1, 'in [0, 1)');
    this.cycles = maxLrs.map((m) => {
      const max = check('maxLr', m, (x) => Number.isFinite(x) && x >= 0, 'a finite number >= 0');
      return { initial: max / divFactor, max, min: max / divFactor / finalDivFactor, maxMomentum, baseMomentum };
    });
    const threePhase = options.threePhase ?? false;
    const rise = pctStart * this.totalSteps - 1;
    this.phases = threePhase
      ? [{ endStep: rise, lr: ['initial', 'max'], momentum: ['max', 'base'] },
        { endStep: 2 * pctStart * this.totalSteps - 2, lr: ['max', 'initial'], momentum: ['base', 'max'] },
        { endStep: this.totalSteps - 1, lr: ['initial', 'min'], momentum: ['max', 'max'] }]
      : [{ endStep: rise, lr: ['initial', 'max'], momentum: ['max', 'base'] },
        { endStep: this.totalSteps - 1, lr: ['max', 'min'], momentum: ['base', 'max'] }];
    this.cycleMomentum = options.cycleMomentum ?? true;
    if (this.cycleMomentum) {
      for (const g of groups) {
        if (!('momentum' in g.options) && !('betas' in g.options)) {
          throw new TypeError('OneCycleLR with cycleMomentum needs an optimizer with momentum or betas (SGD, RMSprop, Adam, AdamW)');
        }
        setMomentum(g, maxMomentum);
      }
    }
    this.start();
  }

  protected nextLrs(groups: readonly Group[]): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) {
      throw new RangeError(`OneCycleLR: tried to step ${step} times; the cycle has ${this.totalSteps} steps`);
    }
    return groups.map((g, k) => {
      const c = this.cycles[k];
      let start = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i];
        if (step <= phase.endStep || i === this.phases.length - 1) {
          const pct = (step - start) / (phase.endStep - start);
          if (this.cycleMomentum) {
            const [from, to] = phase.momentum;
            setMomentum(g, this.anneal(from === 'max' ? c.maxMomentum : c.baseMomentum, to === 'max' ? c.maxMomentum : c.baseMomentum, pct));
          }
          return this.anneal(c[phase.lr[0]], c[phase.lr[1]], pct);
        }
        start = phase.endStep;
      }
      return g.options.lr;
    });
  }

  protected override extraState(): Record<string, unknown> {
    return { totalSteps: this.totalSteps };
  }
  protected override loadExtraState(dict: SchedulerStateDict): void {
    if (dict.totalSteps !== this.totalSteps) {
      throw new RangeError(`OneCycleLR.loadStateDict: a cycle of ${describe(dict.totalSteps)} steps, this one has ${this.totalSteps}`);
    }
  }
}

// SGD and RMSprop cycle their momentum, Adam and AdamW their beta1.
function setMomentum(group: Group, m: number): void {
  const o = group.options as unknown as { momentum?: number; betas?: readonly [number, number] };
  const options = o.betas ? { ...group.options, betas: [m, o.betas[1]] } : { ...group.options, momentum: m };
  group.options = options as typeof group.options;
}
