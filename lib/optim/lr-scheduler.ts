// Learning-rate schedulers with torch.optim.lr_scheduler's semantics: each sets its optimizer's
// group learning rates at construction (epoch 0) and at every step(), by PyTorch's recursive
// rules, so a sequence of lrs equals PyTorch's for the same settings.
import { describe } from '../device';
import type { Optimizer } from './optimizer';

type AnyOptimizer = Optimizer<{ lr: number }, { lr: number }>;
type Group = AnyOptimizer['paramGroups'][number];

function setLr(group: Group, lr: number): void {
  group.options = { ...group.options, lr };
}

function positiveInteger(scheduler: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${scheduler} ${name} must be an integer >= 1, got ${describe(v)}`);
  return v;
}

function finiteNumber(scheduler: string, name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number') throw new TypeError(`${scheduler} ${name} must be a number, got ${describe(v)}`);
  if (!Number.isFinite(v) || v < min) throw new RangeError(`${scheduler} ${name} must be a finite number >= ${min}, got ${v}`);
  return v;
}

/** What a scheduler's stateDict() holds: its counters (the optimizer's lrs are the optimizer's). */
export interface SchedulerStateDict {
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
  [key: string]: unknown;
}

/**
 * The base of the epoch-indexed schedulers: `lastEpoch` counts step() calls (0 after construction);
 * each step sets every group's lr from `nextLrs()`.
 */
export abstract class LRScheduler {
  /** How many times step() has run. */
  lastEpoch = -1;
  /** The groups' learning rates when the scheduler was made. */
  readonly baseLrs: number[];
  private lastLr: number[] = [];

  protected constructor(readonly name: string, readonly optimizer: AnyOptimizer) {
    if (optimizer === null || typeof optimizer !== 'object' || !Array.isArray((optimizer as AnyOptimizer).paramGroups)) {
      throw new TypeError(`${name} needs an optimizer, got ${describe(optimizer)}`);
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g.options.lr);
  }

  /** Applies epoch 0's learning rates; subclasses call it at the end of their constructor. */
  protected start(): void {
    this.step();
  }

  /** The learning rates for `lastEpoch` (already advanced), from the groups' current ones. */
  protected abstract nextLrs(groups: readonly Group[]): number[];

  /** Advances one epoch (or one batch, for schedules counted in batches) and sets the groups' lrs. */
  step(): void {
    this.lastEpoch++;
    const lrs = this.nextLrs(this.optimizer.paramGroups);
    this.optimizer.paramGroups.forEach((g, k) => setLr(g, lrs[k]));
    this.lastLr = lrs;
  }

  /** The learning rates the last step() set, one per group (PyTorch's get_last_lr()). */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr], ...this.extraState() };
  }

  /** Restores stateDict()'s counters (the optimizer's lrs come back with the optimizer's own state). */
  loadStateDict(dict: SchedulerStateDict): void {
    if (dict === null || typeof dict !== 'object' || !Number.isInteger(dict.lastEpoch) || !Array.isArray(dict.baseLrs) ||
      dict.baseLrs.length !== this.baseLrs.length || !Array.isArray(dict.lastLr)) {
      throw new TypeError(`${this.name}.loadStateDict expects { lastEpoch, baseLrs, lastLr } for ${this.baseLrs.length} groups, got ${describe(dict)}`);
    }
    this.lastEpoch = dict.lastEpoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...dict.baseLrs);
    this.lastLr = [...dict.lastLr];
    this.loadExtraState(dict);
  }

  protected extraState(): Record<string, unknown> {
    return {};
  }
  protected loadExtraState(_dict: SchedulerStateDict): void {}
}

/** Multiplies the lr by gamma every stepSize epochs (torch.optim.lr_scheduler.StepLR). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, options: { stepSize: number; gamma?: number }) {
    super('StepLR', optimizer);
    this.stepSize = positiveInteger('StepLR', 'stepSize', options?.stepSize);
    this.gamma = finiteNumber('StepLR', 'gamma', options.gamma ?? 0.1, 0);
    this.start();
  }
  protected nextLrs(groups: readonly Group[]): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.options.lr);
    return groups.map((g) => g.options.lr * this.gamma);
  }
}

/** Multiplies the lr by gamma at each milestone epoch (torch.optim.lr_scheduler.MultiStepLR). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: readonly number[];
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, options: { milestones: readonly number[]; gamma?: number }) {
    super('MultiStepLR', optimizer);
    if (!Array.isArray(options?.milestones)) throw new TypeError(`MultiStepLR milestones must be an array of epochs, got ${describe(options?.milestones)}`);
    this.milestones = options.milestones.map((m) => positiveInteger('MultiStepLR', 'milestone', m));
    this.gamma = finiteNumber('MultiStepLR', 'gamma', options.gamma ?? 0.1, 0);
    this.start();
  }
  protected nextLrs(groups: readonly Group[]): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    return groups.map((g) => (hits ? g.options.lr * this.gamma ** hits : g.options.lr));
  }
}

/** Multiplies the lr by gamma every epoch (torch.optim.lr_scheduler.ExponentialLR). */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, options: { gamma: number }) {
    super('ExponentialLR', optimizer);
    this.gamma = finiteNumber('ExponentialLR', 'gamma', options?.gamma, 0);
    this.start();
  }
  protected nextLrs(groups: readonly Group[]): number[] {
    return groups.map((g) => (this.lastEpoch === 0 ? g.options.lr : g.options.lr * this.gamma));
  }
}

/** Cosine annealing from the base lr to etaMin over tMax epochs, and back (torch.optim.lr_scheduler.CosineAnnealingLR). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: AnyOptimizer, options: { tMax: number; etaMin?: number }) {
    super('CosineAnnealingLR', optimizer);
    this.tMax = positiveInteger('CosineAnnealingLR', 'tMax', options?.tMax);
    this.etaMin = finiteNumber('CosineAnnealingLR', 'etaMin', options.etaMin ?? 0, 0);
    this.start();
  }
  protected nextLrs(groups: readonly Group[]): number[] {
    const e = this.lastEpoch, T = this.tMax, eta = this.etaMin;
    if (e === 0) return groups.map((g) => g.options.lr);
    if ((e - 1 - T) % (2 * T) === 0) {
      return groups.map((g, k) => g.options.lr + ((this.baseLrs[k] - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return groups.map((g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.options.lr - eta) + eta);
  }
}

/** A linear ramp of the lr's factor from startFactor to endFactor over totalIters steps (warm-up; torch.optim.lr_scheduler.LinearLR). */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(optimizer: AnyOptimizer, options: { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super('LinearLR', optimizer);
    this.startFactor = finiteNumber('LinearLR', 'startFactor', options.startFactor ?? 1 / 3, 0);
    this.endFactor = finiteNumber('LinearLR', 'endFactor', options.endFactor ?? 1, 0);
    if (this.startFactor === 0 || this.startFactor > 1 || this.endFactor > 1) {
      throw new RangeError(`LinearLR startFactor must be in (0, 1] and endFactor in [0, 1], got ${this.startFactor} and ${this.endFactor}`);
    }
    this.totalIters = positiveInteger('LinearLR', 'totalIters', options.totalIters ?? 5);
    this.start();
  }
  protected nextLrs(groups: readonly Group[]): number[] {
    const e = this.lastEpoch;
    if (e === 0) return groups.map((g) => g.options.lr * this.startFactor);
    if (e > this.totalIters) return groups.map((g) => g.options.lr);
    const d = this.endFactor - this.startFactor;
    return groups.map((g) => g.options.lr * (1 + d / (this.totalIters * this.startFactor + (e - 1) * d)));
  }
}
