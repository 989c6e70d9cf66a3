// A V8 CPU profile of a piece of this process (node:inspector, as `node --cpu-prof` takes), and
// its summary: the functions with the most self time, and the time by kind (native addon calls,
// tinynn's JS, garbage collection, ...).
import * as fs from 'fs';
import * as path from 'path';
import { Session } from 'inspector/promises';

/** Runs `fn` (sync or async) under the sampling profiler; resolves to the V8 profile. */
export async function cpuProfile(fn, intervalMicros = 100) {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalMicros });
    await session.post('Profiler.start');
    let failure = null;
    try {
      await fn();
    } catch (err) {
      failure = err;
    }
    const { profile } = await session.post('Profiler.stop');
    await session.post('Profiler.disable');
    if (failure) throw failure;
    return profile;
  } finally {
    session.disconnect();
  }
}

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** Where a frame lives, short: "dist/ops/graph.js:12", or '' for native and VM frames. */
function where({ url, lineNumber }) {
  if (!url) return '';
  const file = url.replace(/^file:\/\//, '');
  return `${file.startsWith(repoRoot) ? path.relative(repoRoot, file) : path.basename(file)}:${lineNumber + 1}`;
}

/** What kind of time a frame is. */
function kind(frame) {
  const name = frame.functionName;
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === '(program)' || name === '(idle)' || name === '(root)') return 'V8 / runtime (program)';
  if (!frame.url) return 'native (addon calls and V8 builtins)';
  if (/\/dist\//.test(frame.url)) return "tinynn's JS (dist/)";
  if (/\/bench\//.test(frame.url)) return 'the benchmark loop (bench/)';
  return 'other JS (node internals)';
}

/**
 * { totalMs, top: [{ function, where, selfMs, percent }], byKind: [{ kind, ms, percent }] }:
 * self time of each function (all its call sites together), largest first.
 */
export function summarize(profile, topN = 15) {
  const self = new Map();  // node id → µs
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the gap before sample i: the time up to the next sample belongs to sample i.
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + Math.max(dt, 0));
  }
  const parent = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node);
  const byFunction = new Map();
  const byKind = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (!us) continue;
    total += us;
    const f = node.callFrame;
    // V8 gives every N-API function one name (that of the first it saw), so a native frame is
    // named by its JS caller instead: "native ← unaryOp".
    const caller = !f.url && !f.functionName.startsWith('(') ? parent.get(node.id) ?? byId.get(node.id) : null;
    const key = caller ? `native ← ${caller.callFrame.functionName || '(anonymous)'}\t${where(caller.callFrame)}`
      : `${f.functionName || '(anonymous)'}\t${where(f)}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const k = kind(f);
    byKind.set(k, (byKind.get(k) ?? 0) + us);
  }
  const ms = (us) => +(us / 1000).toFixed(1);
  const pct = (us) => +((100 * us) / total).toFixed(1);
  return {
    totalMs: ms(total),
    top: [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([key, us]) => {
      const [fn, at] = key.split('\t');
      return { function: fn, where: at, selfMs: ms(us), percent: pct(us) };
    }),
    byKind: [...byKind].sort((a, b) => b[1] - a[1]).map(([k, us]) => ({ kind: k, ms: ms(us), percent: pct(us) })),
  };
}

/** Writes the raw profile (loadable in Chrome DevTools) and returns its path. */
export function writeProfile(profile, file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(profile));
  return file;
}
