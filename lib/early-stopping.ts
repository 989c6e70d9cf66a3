// EarlyStopping: stops a Trainer once a validation metric has not improved for `patience` epochs.
import { describe } from './device';
import type { EpochRecord, Trainer } from './trainer';

/** Options for {@link EarlyStopping}. */
export interface EarlyStoppingOptions {
  /** The EpochRecord field watched (default 'valLoss'). */
  monitor?: 'valLoss' | 'valAccuracy' | 'loss' | 'accuracy';
  /** 'min' (default for losses) or 'max' (default for accuracies). */
  mode?: 'min' | 'max';
  /** Epochs without improvement before stopping, default 5. */
  patience?: number;
  /** The smallest change that counts as an improvement, default 0. */
  minDelta?: number;
}

/**
 * Watches one metric of each epoch: `step(value)` returns true once it has not improved by more
 * than minDelta for `patience` epochs in a row. `callback(trainer)` gives an onEpochEnd that calls
 * trainer.stop() then:
 *
 * ```ts
 * const early = new EarlyStopping({ patience: 3 });
 * await trainer.fit(train, { epochs: 100, validation: test, onEpochEnd: early.callback(trainer) });
 * ```
 */
export class EarlyStopping {
  readonly monitor: NonNullable<EarlyStoppingOptions['monitor']>;
  readonly mode: 'min' | 'max';
  readonly patience: number;
  readonly minDelta: number;
  /** The best value so far, and the epoch (1-based count of step() calls) it came in. */
  best: number;
  bestEpoch = 0;
  /** Epochs since the best one. */
  wait = 0;
  private epochs = 0;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? 'valLoss';
    if (!['valLoss', 'valAccuracy', 'loss', 'accuracy'].includes(this.monitor)) {
      throw new RangeError(`EarlyStopping monitor must be 'valLoss', 'valAccuracy', 'loss' or 'accuracy', got ${describe(this.monitor)}`);
    }
    this.mode = options.mode ?? (this.monitor.endsWith('ccuracy') ? 'max' : 'min');
    if (this.mode !== 'min' && this.mode !== 'max') throw new RangeError(`EarlyStopping mode must be 'min' or 'max', got ${describe(this.mode)}`);
    this.patience = options.patience ?? 5;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new RangeError(`EarlyStopping patience must be an integer >= 0, got ${describe(this.patience)}`);
    this.minDelta = options.minDelta ?? 0;
    if (typeof this.minDelta !== 'number' || !(this.minDelta >= 0) || !Number.isFinite(this.minDelta)) {
      throw new RangeError(`EarlyStopping minDelta must be a finite number >= 0, got ${describe(this.minDelta)}`);
    }
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Records one epoch's value; true when training should stop. A NaN never improves. */
  step(value: number): boolean {
    if (typeof value !== 'number') throw new TypeError(`EarlyStopping.step needs a number, got ${describe(value)}`);
    this.epochs++;
    const better = this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta;
    if (better) {
      this.best = value;
      this.bestEpoch = this.epochs;
      this.wait = 0;
      return false;
    }
    this.wait++;
    return this.wait >= this.patience;
  }

  /** An onEpochEnd callback that steps with the monitored field and stops `trainer` when it says so. */
  callback(trainer: Trainer): (record: EpochRecord) => void {
    return (record) => {
      const value = record[this.monitor];
      if (value === null) throw new TypeError(`EarlyStopping watches ${this.monitor}, which fit() reports only with a validation set`);
      if (this.step(value)) trainer.stop();
    };
  }
}
