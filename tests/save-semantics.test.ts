// What save() does to what is on disk, and what load() refuses (issue: reliability II, items 4-6,
// 8, 12): symlinks are written through (dangling ones refused), only regular files are replaced,
// hard links and read-only files are refused, a replaced file keeps its mode and owner, stale
// temporaries of killed writers are cleaned up; load() checks every target before writing any,
// and refuses NaN / infinite weights unless asked.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { datasets, load, manualSeed, nn, optim, save, Trainer } from '../dist/index.js';
import { encodeSafetensors } from '../dist/io/safetensors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-save-'));
const model = (seed = 1) => {
  manualSeed(seed);
  return new nn.Sequential(new nn.Linear(3, 2));
};
const weights = (m: nn.Module) => m.parameters().map((p) => Array.from(p.toArray()));
async function savedWeights(file: string) {
  const m = model(99);
  await load(m, file);
  return weights(m);
}

describe('save(): what it replaces', () => {
  it('writes through a symlink to its target (in the target\'s directory); refuses a dangling one', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'targets-'));
    const target = path.join(sub, 'weights.safetensors');
    await save(model(1), target);
    const link = path.join(dir, 'link.safetensors');
    fs.symlinkSync(target, link);
    await save(model(2), link);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(await savedWeights(target)).toEqual(weights(model(2)));
    const dangling = path.join(dir, 'dangling.safetensors');
    fs.symlinkSync(path.join(dir, 'nowhere', 'x.safetensors'), dangling);
    await expect(save(model(3), dangling)).rejects.toThrow(/is a symbolic link to .*nowhere.*which does not exist/);
    expect(fs.lstatSync(dangling).isSymbolicLink()).toBe(true);
  });

  it('refuses a device, a directory and a file with other hard links, leaving them as they are', async () => {
    await expect(save(model(), '/dev/null')).rejects.toThrow(/expected a regular file \(or nothing\) to replace, found a character device/);
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
    await expect(save(model(), dir)).rejects.toThrow(/found a directory/);
    const a = path.join(dir, 'linked-a.safetensors'), b = path.join(dir, 'linked-b.safetensors');
    await save(model(1), a);
    fs.linkSync(a, b);
    await expect(save(model(2), a)).rejects.toThrow(/has 2 hard links/);
    expect(await savedWeights(b)).toEqual(weights(model(1)));
  });

  it('keeps a replaced file\'s mode and owner; refuses a read-only file', async () => {
    const file = path.join(dir, 'private.safetensors');
    await save(model(1), file);
    fs.chmodSync(file, 0o600);
    const owner = { uid: 12345, gid: 23456 };
    const root = process.getuid?.() === 0;
    if (root) fs.chownSync(file, owner.uid, owner.gid);
    await save(model(2), file);
    const st = fs.statSync(file);
    expect(st.mode & 0o777).toBe(0o600);
    if (root) expect([st.uid, st.gid]).toEqual([owner.uid, owner.gid]);
    const readOnly = path.join(dir, 'read-only.safetensors');
    await save(model(1), readOnly);
    fs.chmodSync(readOnly, 0o444);
    await expect(save(model(2), readOnly)).rejects.toThrow(/is read-only \(mode 0444\)/);
    expect(await savedWeights(readOnly)).toEqual(weights(model(1)));
  });

  it('removes the temporaries of writers that died mid-save, not those of live ones', async () => {
    const file = path.join(dir, 'stale.safetensors');
    const dead = path.join(dir, '.stale.safetensors.999999.0123456789ab.tmp');
    const live = path.join(dir, `.stale.safetensors.${process.ppid}.0123456789ab.tmp`);
    fs.writeFileSync(dead, 'partial');
    fs.writeFileSync(live, 'in progress');
    await save(model(), file);
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });
});

describe('load(): checked before anything changes', () => {
  it('refuses a tensor named __proto__ and a header that repeats a key (item 10)', async () => {
    const header = (json: string) => {
      const h = Buffer.from(json);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(h.length));
      return Buffer.concat([len, h, Buffer.alloc(32)]);
    };
    const proto = path.join(dir, 'proto.safetensors');
    fs.writeFileSync(proto, header('{"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},' +
      '"__proto__":{"dtype":"F32","shape":[0],"data_offsets":[32,32]}}'));
    await expect(load(model(), proto)).rejects.toThrow(/unexpected tensor '__proto__'/);
    const twice = path.join(dir, 'twice.safetensors');
    fs.writeFileSync(twice, header('{"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},' +
      '"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}'));
    await expect(load(model(), twice)).rejects.toThrow(/header repeats the key "0.bias"/);
    const inner = path.join(dir, 'inner.safetensors');
    fs.writeFileSync(inner, header('{"0.weight":{"dtype":"F32","dtype":"F16","shape":[2,3],"data_offsets":[0,24]},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}'));
    await expect(load(model(), inner)).rejects.toThrow(/header repeats the key "dtype"/);
  });

  it('refuses NaN and infinite weights, naming the tensor and index, unless allowNonFinite', async () => {
    const file = path.join(dir, 'nan.safetensors');
    const w = Float32Array.from([1, 2, 3, 4, Number.NaN, 6]);
    fs.writeFileSync(file, encodeSafetensors({ '0.weight': { shape: [2, 3], data: w }, '0.bias': { shape: [2], data: Float32Array.from([0, Infinity]) } }));
    const m = model();
    const before = weights(m);
    await expect(load(m, file)).rejects.toThrow(/tensor '0.weight' holds NaN at index 4; pass \{ allowNonFinite: true \}/);
    expect(weights(m)).toEqual(before);
    await load(m, file, { allowNonFinite: true });
    expect(weights(m)[1][1]).toBe(Infinity);
  });

  it('refuses a disposed parameter or one in a running fit before writing any parameter', async () => {
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 2));
    await save(m, path.join(dir, 'three.safetensors'));
    const target = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 2));
    const firstTwo = () => target.parameters().slice(0, 2).map((p) => Array.from(p.toArray()));
    const before = firstTwo();
    target.parameters()[2].dispose();
    await expect(load(target, path.join(dir, 'three.safetensors'))).rejects.toThrow(/parameter '2.weight' has been disposed/);
    expect(firstTwo()).toEqual(before);

    // A model sharing its first layer with a model in a running fit.
    const { train } = await datasets.mnist();
    const shared = new nn.Linear(784, 16);
    const running = new nn.Sequential(shared, new nn.ReLU(), new nn.Linear(16, 10));
    const mixed = new nn.Sequential(new nn.Linear(10, 10), new nn.ReLU(), shared);
    const trainer = new Trainer(running, { optimizer: new optim.SGD(running.parameters(), { lr: 0.01 }), loss: new nn.CrossEntropyLoss() });
    const fit = trainer.fit(train, { epochs: 3 });
    await new Promise((r) => setTimeout(r, 20));
    const first = Array.from(mixed.parameters()[0].toArray());
    const state = { '0.weight': new Float32Array(100).fill(7), '0.bias': new Float32Array(10), '2.weight': new Float32Array(16 * 784), '2.bias': new Float32Array(16) };
    expect(() => mixed.loadStateDict(state)).toThrow(/parameter '2.weight' is in use by a running fit/);
    expect(Array.from(mixed.parameters()[0].toArray())).toEqual(first);
    await fit;
  });
});
