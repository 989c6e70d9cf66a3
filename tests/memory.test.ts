// Memory stays flat (issue 7): 30 epochs of training and 30 000 tensors created and dropped after
// warm-up grow RSS by less than a stated bound; tensors collected by the GC give their native
// memory back (finalizers); dispose() twice is harmless. The work runs in a child node process
// started with --expose-gc (tests/reliability/memory-probe.cjs), so that gc() is available and
// no other test's allocations blur the numbers.
import { describe, expect, it } from 'vitest';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { tensor, tidy, zeros, type Tensor } from '../dist/index.js';
import { native } from '../dist/native.js';

const PROBE = path.join(__dirname, 'reliability', 'memory-probe.cjs');
const SYNC_PROBE = path.join(__dirname, 'reliability', 'sync-loop-probe.cjs');

// Why 16 MB: what is measured is RSS outside V8's heap (rss − heapTotal) after warm-up: V8's
// young generation alone may grow by 16 MB or more under allocation pressure (seen once at
// +17.9 MB of RSS while other test files loaded both cores), which says nothing about native
// memory. What can still move it without a leak is glibc malloc keeping freed blocks in its
// arenas and free lists (a few MB per thread arena; the pool's threads each have one) and V8's
// code space. Measured here, with another test file loading both cores: +0.4 to 0.6 MB over 30
// epochs and +1.6 to 9 MB over 30 000 tensors (alone: under 2 MB). A real leak is far above it:
// one 64×128 float activation per step is 30 MB over 30 epochs on 2 000 samples, and one leaked
// 4 KB buffer per tensor is 120 MB over the measured 30 000.
const RSS_GROWTH_BOUND_MB = 16;
// Under scripts/sanitize.sh ASan's allocator keeps freed memory in a quarantine (by design, to catch
// use-after-free) and pads every block, so RSS says nothing there: the probe still runs (its
// allocations and frees are checked), the RSS bounds are not.
const SANITIZED = /asan/.test(process.env.LD_PRELOAD ?? '');

interface Sample { rss: number; external: number; heapUsed: number; heapTotal: number }
type Report = Record<'afterWarmup' | 'afterTraining' | 'beforeTensors' | 'afterTensors' | 'holding200MB' | 'after200MBCollected'
  | 'holding200MBAgain' | 'after200MBDisposed' | 'end', Sample>;

function probe(): Report {
  const r = spawnSync(process.execPath, ['--expose-gc', PROBE, '30'], { encoding: 'utf8', timeout: 110_000 });
  if (r.status !== 0) throw new Error(`memory probe failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Report;
}

describe('memory', () => {
  let report: Report;
  it('stays flat over 30 epochs of training and 30 000 tensors created and dropped', () => {
    report = probe();
    const outsideHeap = (s: Sample) => s.rss - s.heapTotal;
    const training = outsideHeap(report.afterTraining) - outsideHeap(report.afterWarmup);
    const tensors = outsideHeap(report.afterTensors) - outsideHeap(report.beforeTensors);
    const external = report.afterTensors.external - report.beforeTensors.external;
    console.log(`RSS growth outside the V8 heap after warm-up: 30 epochs ${training.toFixed(1)} MB, 30 000 tensors ${tensors.toFixed(1)} MB ` +
      `(native buffers V8 still counts: ${external.toFixed(1)} MB) ` +
      `(bound ${RSS_GROWTH_BOUND_MB} MB); 200 MB of tensors: ${report.holding200MB.rss.toFixed(0)} MB held → ` +
      `${report.after200MBCollected.rss.toFixed(0)} MB after GC, ${report.after200MBDisposed.rss.toFixed(0)} MB after dispose()`);
    if (SANITIZED) return;
    expect(training).toBeLessThan(RSS_GROWTH_BOUND_MB);
    expect(tensors).toBeLessThan(RSS_GROWTH_BOUND_MB);
  });

  it('gives native memory back when the GC collects tensors (finalizers) and on dispose()', () => {
    if (SANITIZED) return;
    const held = report.holding200MB.rss - report.afterTensors.rss;
    expect(held).toBeGreaterThan(180); // the 200 MB really were allocated and touched (zeros)
    // Back within 20 MB of where it was once the tensors are collected, and once they are disposed.
    expect(report.after200MBCollected.rss - report.afterTensors.rss).toBeLessThan(20);
    expect(report.after200MBDisposed.rss - report.afterTensors.rss).toBeLessThan(20);
    expect(report.end.rss - report.afterTensors.rss).toBeLessThan(20);
  });

  // Without yielding, only the garbage collector frees what each step drops: its finalizers must
  // run inside the collection (not at the next turn of the event loop, which never comes) and the
  // freed blocks must be reused. Before both, 6 epochs grew RSS by 247 MB and 2 000 dropped 4 MB
  // tensors by 8.2 GB; now +17 MB and +70 MB (the host allocator keeps up to 128 MB for reuse and
  // V8 collects after every ~64 MB of native growth).
  it('is built with Node-API basic finalizers (Node\'s own headers), which free dropped tensors inside the GC', () => {
    expect(native.basicFinalizers).toBe(true);
  });

  it('stays flat in a synchronous eager loop: 6 epochs and 2 000 dropped 4 MB tensors without yielding', () => {
    const r = spawnSync(process.execPath, [SYNC_PROBE, '6', '10000'], { encoding: 'utf8', timeout: 110_000 });
    if (r.status !== 0) throw new Error(`sync-loop probe failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { afterWarmup: number; afterEpochs: number; afterChurn: number; loss: number };
    console.log(`synchronous eager loop: RSS ${m.afterWarmup.toFixed(0)} MB after warm-up, ${m.afterEpochs.toFixed(0)} MB after 6 epochs, ` +
      `${m.afterChurn.toFixed(0)} MB after 2 000 dropped 4 MB tensors`);
    expect(m.loss).toBeLessThan(0.5);
    if (SANITIZED) return;
    expect(m.afterEpochs - m.afterWarmup).toBeLessThan(100);
    expect(m.afterChurn - m.afterEpochs).toBeLessThan(400);
  });

  it('dispose() twice is harmless, and a disposed tensor refuses use with a TypeError', () => {
    const t = tensor([[1, 2], [3, 4]]);
    t.dispose();
    expect(() => t.dispose()).not.toThrow();
    expect(t.disposed).toBe(true);
    expect(() => t.toArray()).toThrow(TypeError);
  });
});

describe('tidy and Symbol.dispose', () => {
  it('tidy() frees what fn made except its result; nested results pass outwards', () => {
    const x = tensor([1, 2, 3]);
    let inner: Tensor[] = [];
    const out = tidy(() => {
      const a = x.mul(2);
      const b = a.add(1);
      const kept = tidy(() => {
        const c = b.exp();
        inner = [c, c.neg()];
        return { c };
      });
      inner.push(a, b);
      return [kept.c, b.sub(1)];
    });
    expect(x.disposed).toBe(false);          // made before tidy: untouched
    expect(out.every((t) => !t.disposed)).toBe(true);
    expect(inner[0].disposed).toBe(false);   // c: returned by both scopes
    expect(inner[1].disposed).toBe(true);    // c.neg(): dropped by the inner scope
    expect(inner[2].disposed).toBe(true);    // a
    expect(inner[3].disposed).toBe(true);    // b (its result b.sub(1) is kept)
    expect(Array.from(out[1].toArray())).toEqual([2, 4, 6]);
  });

  it('tidy() frees everything fn made when fn throws, and rethrows', () => {
    let made: Tensor | null = null;
    expect(() => tidy(() => {
      made = zeros([4]);
      throw new Error('boom');
    })).toThrow('boom');
    expect(made!.disposed).toBe(true);
  });

  it('[Symbol.dispose] disposes, for `using` declarations', () => {
    const t = zeros([3]);
    t[Symbol.dispose]();
    expect(t.disposed).toBe(true);
  });
});
