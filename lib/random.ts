// The seeded generator behind parameter initialisation (nn.Linear) and default shuffle seeds.
import { describe } from './device';

/** A small, fast, seedable generator (sfc32): the same sequence on every platform. */
export class Generator {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: number) {
    this.seed(seed);
  }

  /** Restarts the sequence from `seed` (any safe integer). */
  seed(seed: number): void {
    if (!Number.isSafeInteger(seed)) throw new TypeError(`seed must be a safe integer, got ${describe(seed)}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    this.a = 0x9e3779b9;
    this.b = lo;
    this.c = hi;
    this.d = 1;
    for (let i = 0; i < 16; i++) this.nextUint32();
  }

  /** The generator's state (four 32-bit words), for checkpoints; setState() resumes from it. */
  getState(): number[] {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  /** Resumes the sequence from a getState() result. */
  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) {
      throw new TypeError(`Generator state must be four 32-bit unsigned integers, got ${JSON.stringify(state)}`);
    }
    [this.a, this.b, this.c, this.d] = state.map((w) => w | 0);
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** n float32 values uniform in [low, high). */
  uniform(n: number, low: number, high: number): Float32Array {
    const out = new Float32Array(n);
    const span = high - low;
    for (let i = 0; i < n; i++) out[i] = low + span * ((this.nextUint32() >>> 8) / 16777216);
    return out;
  }

  /** n float32 values from the standard normal distribution (Box-Muller). */
  normal(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      // u1 in (0, 1]: log(u1) stays finite.
      const u1 = ((this.nextUint32() >>> 8) + 1) / 16777216;
      const u2 = (this.nextUint32() >>> 8) / 16777216;
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }
}

const DEFAULT_SEED = 0x5eed;

/** The process-wide generator used when no other is given. */
export const defaultGenerator = new Generator(DEFAULT_SEED);

/**
 * Seeds the default generator, like `torch.manual_seed`: parameter initialisation that follows is
 * reproducible.
 */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}
