// Progress of the current epoch: a redrawn bar on a terminal, occasional plain lines otherwise
// (logs and pipes should not fill up with carriage returns).
import { loss, rate, seconds } from './format';

/** What the trainer reports after a batch (the fields the CLI shows). */
export interface BatchProgress {
  /** 1-based epoch. */
  epoch: number;
  /** Steps done in this epoch, 1..stepsPerEpoch. */
  step: number;
  stepsPerEpoch: number;
  /** Loss of the latest batch. */
  loss: number;
  samplesPerSecond: number;
}

/** Where progress goes: process.stdout or anything shaped like it. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** How {@link EpochProgress} paces its output. */
export interface ProgressTiming {
  /** Milliseconds between bar redraws on a terminal. */
  redrawMs: number;
  /** Milliseconds between plain lines when not on a terminal. */
  lineMs: number;
  /** The clock, in milliseconds. */
  now: () => number;
}

const DEFAULT_TIMING: ProgressTiming = { redrawMs: 100, lineMs: 5000, now: () => performance.now() };
const CLEAR_LINE = '\r\x1b[K';

/** Shows the progress of each epoch of a run of `epochs` epochs at batch size `batchSize`. */
export class EpochProgress {
  private readonly tty: boolean;
  private readonly timing: ProgressTiming;
  private lastOutput: number;
  private barShown = false;

  constructor(private readonly out: ProgressOutput, private readonly epochs: number,
              private readonly batchSize: number, timing: Partial<ProgressTiming> = {}) {
    this.tty = out.isTTY === true;
    this.timing = { ...DEFAULT_TIMING, ...timing };
    this.lastOutput = this.startOfEpoch();
  }

  // A bar appears at once; a plain line only after lineMs of an epoch (short epochs need none,
  // their summary line says it all).
  private startOfEpoch(): number {
    return this.tty ? -Infinity : this.timing.now();
  }

  /** Records a batch; draws the bar or prints a line when enough time has passed since the last. */
  update(p: BatchProgress): void {
    const now = this.timing.now();
    const interval = this.tty ? this.timing.redrawMs : this.timing.lineMs;
    // On a terminal the last step is always drawn so the bar ends full.
    const lastStepOnTty = this.tty && p.step === p.stepsPerEpoch;
    if (now - this.lastOutput < interval && !lastStepOnTty) return;
    this.lastOutput = now;
    const remaining = Math.max(0, p.stepsPerEpoch - p.step) * this.batchSize;
    const eta = p.samplesPerSecond > 0 ? seconds(remaining / p.samplesPerSecond) : '?';
    const counts = `${p.step}/${p.stepsPerEpoch}`;
    const stats = `loss ${loss(p.loss)}  ${rate(p.samplesPerSecond)} samples/s  ETA ${eta}`;
    const head = `epoch ${p.epoch}/${this.epochs}`;
    if (!this.tty) {
      this.out.write(`${head}  step ${counts}  ${stats}\n`);
      return;
    }
    const fraction = Math.min(1, p.step / p.stepsPerEpoch);
    const text = `${head} ${counts} ${String(Math.floor(fraction * 100)).padStart(3)}%  ${stats}`;
    // A pseudo-terminal may report 0 columns; assume the classic 80 then.
    const columns = this.out.columns || 80;
    // The bar takes what the text leaves of the line, 10 to 30 cells; none if that is under 10.
    const width = Math.min(30, columns - text.length - 4);
    const bar = width >= 10 ? ` [${'='.repeat(Math.round(fraction * width)).padEnd(width)}]` : '';
    // A line that wraps could not be redrawn in place by \r, so cut it to the width.
    const line = `${head}${bar} ${text.slice(head.length + 1)}`.slice(0, columns - 1);
    this.out.write(`${CLEAR_LINE}${line}`);
    this.barShown = true;
  }

  /** Erases the bar (call before printing the epoch summary); a no-op when none is shown. */
  clear(): void {
    if (this.barShown) this.out.write(CLEAR_LINE);
    this.barShown = false;
    this.lastOutput = this.startOfEpoch();
  }
}
