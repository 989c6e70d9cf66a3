// ReduceLROnPlateau with torch.optim.lr_scheduler.ReduceLROnPlateau's semantics: step(metric)
// after each validation; the lr drops by `factor` once the metric has not improved for
// `patience` epochs, then waits `cooldown` epochs.
import { describe } from '../device';
import type { Optimizer } from './optimizer';

type AnyOptimizer = Optimizer<{ lr: number }, { lr: number }>;

/** Options for {@link ReduceLROnPlateau}; names and defaults as in PyTorch. */
export interface ReduceLROnPlateauOptions {
  /** 'min' (default: a loss) or 'max' (an accuracy). */
  mode?: 'min' | 'max';
  /** Default 0.1. */
  factor?: number;
  /** Epochs without improvement before a reduction, default 10. */
  patience?: number;
  /** How much better counts as better, default 1e-4. */
  threshold?: number;
  /** 'rel' (default) or 'abs'. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction, default 0. */
  cooldown?: number;
  /** A floor per group (or one for all), default 0. */
  minLr?: number | readonly number[];
  /** Reductions smaller than this are skipped, default 1e-8. */
  eps?: number;
}

/** Lowers the lr when a metric stops improving (torch.optim.lr_scheduler.ReduceLROnPlateau). */
export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  /** The best metric so far. */
  best: number;
  /** Epochs since the last improvement. */
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number[];

  constructor(readonly optimizer: AnyOptimizer, options: ReduceLROnPlateauOptions = {}) {
    if (optimizer === null || typeof optimizer !== 'object' || !Array.isArray((optimizer as AnyOptimizer).paramGroups)) {
      throw new TypeError(`ReduceLROnPlateau needs an optimizer, got ${describe(optimizer)}`);
    }
    const num = (name: string, v: unknown, ok: (x: number) => boolean, expected: string): number => {
      if (typeof v !== 'number' || !ok(v)) throw new RangeError(`ReduceLROnPlateau ${name} must be ${expected}, got ${describe(v)}`);
      return v;
    };
    this.mode = options.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max') throw new RangeError(`ReduceLROnPlateau mode must be 'min' or 'max', got ${describe(this.mode)}`);
    this.factor = num('factor', options.factor ?? 0.1, (x) => x >= 0 && x < 1, 'in [0, 1)');
    this.patience = num('patience', options.patience ?? 10, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    this.threshold = num('threshold', options.threshold ?? 1e-4, (x) => Number.isFinite(x) && x >= 0, 'a finite number >= 0');
    this.thresholdMode = options.thresholdMode ?? 'rel';
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') {
      throw new RangeError(`ReduceLROnPlateau thresholdMode must be 'rel' or 'abs', got ${describe(this.thresholdMode)}`);
    }
    this.cooldown = num('cooldown', options.cooldown ?? 0, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    const groups = optimizer.paramGroups;
    const minLr = options.minLr ?? 0;
    this.minLrs = Array.isArray(minLr) ? [...minLr] : groups.map(() => minLr as number);
    if (this.minLrs.length !== groups.length) throw new RangeError(`ReduceLROnPlateau minLr has ${this.minLrs.length} values for ${groups.length} param groups`);
    this.minLrs.forEach((m) => num('minLr', m, (x) => Number.isFinite(x) && x >= 0, 'a finite number >= 0'));
    this.eps = num('eps', options.eps ?? 1e-8, (x) => Number.isFinite(x) && x >= 0, 'a finite number >= 0');
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.lastLr = groups.map((g) => g.options.lr);
  }

  /** Records this epoch's metric (a validation loss, say) and lowers the lr if it has plateaued. */
  step(metric: number): void {
    if (typeof metric !== 'number' || Number.isNaN(metric)) throw new TypeError(`ReduceLROnPlateau.step needs a metric (a number), got ${describe(metric)}`);
    this.lastEpoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, k) => {
        const old = g.options.lr;
        const lr = Math.max(old * this.factor, this.minLrs[k]);
        if (old - lr > this.eps) g.options = { ...g.options, lr };
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.options.lr);
  }

  /** The learning rates after the last step(), one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  private isBetter(a: number): boolean {
    const t = this.threshold, best = this.best;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - t) : a < best - t;
    return this.thresholdMode === 'rel' ? a > best * (t + 1) : a > best + t;
  }

  stateDict(): Record<string, number | number[]> {
    return { best: this.best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch, lastLr: [...this.lastLr] };
  }

  loadStateDict(dict: Record<string, number | number[]>): void {
    const ints = ['numBadEpochs', 'cooldownCounter', 'lastEpoch'] as const;
    if (dict === null || typeof dict !== 'object' || typeof dict.best !== 'number' || ints.some((k) => !Number.isInteger(dict[k])) || !Array.isArray(dict.lastLr)) {
      throw new TypeError(`ReduceLROnPlateau.loadStateDict expects { best, numBadEpochs, cooldownCounter, lastEpoch, lastLr }, got ${describe(dict)}`);
    }
    this.best = dict.best;
    this.numBadEpochs = dict.numBadEpochs as number;
    this.cooldownCounter = dict.cooldownCounter as number;
    this.lastEpoch = dict.lastEpoch as number;
    this.lastLr = [...dict.lastLr];
  }
}
