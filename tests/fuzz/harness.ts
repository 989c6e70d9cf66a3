// The fuzz suite's machinery: a seeded PRNG, byte mutators, and the tally of outcomes.
//
// Every input ends in one of three ways: `ok` (a result, checked for correctness by the caller),
// `rejected` (a thrown Error with a non-empty message, the clear error the issue asks for) or
// `bad` (anything else: a non-Error throw, an empty message, a wrong result, a hang). A native
// crash takes the whole worker down, which vitest reports as a failed run: it cannot be tallied,
// so "crashes 0" is "the suite passed".

/** $TINYNN_FUZZ_SEED (decimal) or a fixed default, so CI runs are reproducible. */
export const FUZZ_SEED = Number.parseInt(process.env.TINYNN_FUZZ_SEED ?? '', 10) || 20240607;
/** $TINYNN_FUZZ_SECONDS: the time bound of the whole fuzz suite (default 40 s). */
export const FUZZ_SECONDS = Number(process.env.TINYNN_FUZZ_SECONDS ?? '') || 40;

/** mulberry32: small, fast, good enough to drive mutations, identical on every platform. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  bool(p = 0.5): boolean { return this.next() < p; }
  pick<T>(items: readonly T[]): T { return items[Math.floor(this.next() * items.length)]; }
  bytes(n: number): Uint8Array { return Uint8Array.from({ length: n }, () => this.int(0, 255)); }
  /** weird() restricted to what JSON can hold (for mutated file headers). */
  jsonWeird(): unknown {
    return this.pick<unknown>([0, -1, 1, 2, 0.5, -2.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e300, '1', '', 'abc',
      null, true, false, [], [1], [-1, 2], {}, { a: 1 }]);
  }
  /** A value from the edges of the number line and the type system. */
  weird(): unknown {
    return this.pick<unknown>([
      0, -0, 1, -1, 2, 3, 0.5, -2.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 53, -(2 ** 53),
      1e300, Number.MIN_VALUE, '1', '', 'abc', null, undefined, true, false, [], [1], {}, { length: 3 },
      () => 1, Symbol('s'), 10n, new Float32Array(2), new Float64Array(2), new Uint8Array(0),
    ]);
  }
}

/** A derived seed per target so adding inputs to one target leaves the others' streams alone. */
export function rngFor(target: string): Rng {
  let h = FUZZ_SEED >>> 0;
  for (const c of target) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return new Rng(h);
}

/** Random edits of a byte string: flips, overwrites with edge bytes, inserts, deletes, truncation, splices. */
export function mutateBytes(rng: Rng, input: Uint8Array, protectPrefix = 0): Uint8Array {
  let out = Array.from(input);
  const edits = rng.int(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = protectPrefix + rng.int(0, Math.max(0, out.length - protectPrefix));
    switch (rng.int(0, 6)) {
      case 0: if (at < out.length) out[at] ^= 1 << rng.int(0, 7); break;
      case 1: if (at < out.length) out[at] = rng.pick([0, 1, 0x7f, 0x80, 0xff, rng.int(0, 255)]); break;
      case 2: out.splice(at, 0, ...rng.bytes(rng.int(1, 16))); break;
      case 3: out.splice(at, rng.int(1, 16)); break;
      case 4: out = out.slice(0, rng.int(0, out.length)); break;
      case 5: { // duplicate a chunk elsewhere
        const from = rng.int(0, out.length);
        out.splice(at, 0, ...out.slice(from, from + rng.int(1, 32)));
        break;
      }
      default: out.push(...rng.bytes(rng.int(1, 64)));
    }
  }
  return Uint8Array.from(out);
}

export type Outcome = 'ok' | 'rejected' | 'bad';

/** Counts of one fuzz target's outcomes, and the first few bad ones for the failure message. */
export class Tally {
  tried = 0;
  ok = 0;
  rejected = 0;
  bad: string[] = [];
  readonly errorTypes = new Map<string, number>();
  constructor(readonly target: string) {}

  /** Records a thrown value: a clear error or a bad outcome. */
  thrown(err: unknown, input: () => string): Outcome {
    this.tried++;
    if (err instanceof Error && err.message.trim().length > 0 && !/\[object Object\]|undefined is not|Cannot read prop/.test(err.message)) {
      this.rejected++;
      this.errorTypes.set(err.constructor.name, (this.errorTypes.get(err.constructor.name) ?? 0) + 1);
      return 'rejected';
    }
    this.fail(`unclear error ${describeThrown(err)} for ${input()}`);
    return 'bad';
  }

  /** Records a result that the caller checked: `problem` is null when it is correct. */
  result(problem: string | null, input: () => string): Outcome {
    this.tried++;
    if (problem === null) { this.ok++; return 'ok'; }
    this.fail(`wrong result (${problem}) for ${input()}`);
    return 'bad';
  }

  /** Runs `fn`, tallying a throw or checking the result with `check`. */
  run<T>(fn: () => T, check: (value: T) => string | null, input: () => string): Outcome {
    let value: T;
    try {
      value = fn();
    } catch (err) {
      return this.thrown(err, input);
    }
    return this.result(check(value), input);
  }

  async runAsync<T>(fn: () => Promise<T>, check: (value: T) => string | null, input: () => string,
    timeoutMs = 20_000): Promise<Outcome> {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HangError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    let value: T;
    try {
      value = await Promise.race([fn(), hang]);
    } catch (err) {
      if (err instanceof HangError) { this.tried++; this.fail(`hang for ${input()}`); return 'bad'; }
      return this.thrown(err, input);
    } finally {
      clearTimeout(timer);
    }
    return this.result(check(value), input);
  }

  private fail(what: string): void {
    if (this.bad.length < 10) this.bad.push(what);
    else this.bad.push('…');
  }

  summary(): string {
    const types = [...this.errorTypes].map(([k, v]) => `${k} ${v}`).join(', ');
    return `${this.target.padEnd(22)} tried ${String(this.tried).padStart(6)}  ok ${String(this.ok).padStart(6)}  ` +
      `rejected ${String(this.rejected).padStart(6)} (${types})  bad ${this.bad.length}`;
  }
}

class HangError extends Error {}

function describeThrown(err: unknown): string {
  if (err instanceof Error) return `${err.constructor.name}('${err.message}')`;
  try { return `non-Error ${typeof err} ${String(err)}`; } catch { return `non-Error ${typeof err}`; }
}

/** A short printable form of a fuzz input for failure messages. */
export function show(value: unknown): string {
  if (value instanceof Uint8Array) return `bytes[${value.length}] ${Buffer.from(value.subarray(0, 48)).toString('hex')}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  if (typeof value === 'function') return 'function';
  if (typeof value === 'symbol' || typeof value === 'bigint') return String(value);
  if (value && typeof value === 'object' && 'shape' in value && 'dtype' in value) {
    const t = value as { shape: number[]; dtype: string; disposed: boolean };
    return t.disposed ? 'disposed tensor' : `tensor(${t.dtype} [${t.shape}])`;
  }
  try {
    const text = JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
    return (text ?? String(value)).slice(0, 160);
  } catch { return String(value).slice(0, 160); }
}

/** A deadline shared by the targets: each gets its share of FUZZ_SECONDS. */
export class Budget {
  private readonly end: number;
  constructor(seconds: number) { this.end = performance.now() + seconds * 1000; }
  get expired(): boolean { return performance.now() > this.end; }
}
