// The README's example compiles, type-checked against the built declarations, both as an ES
// module (module nodenext, .mts) and as CommonJS TypeScript (module commonjs, as ts-node runs it).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const example = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynn-readme-'));
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function typecheck(file: string, source: string, module: 'commonjs' | 'nodenext'): string {
  fs.writeFileSync(path.join(dir, file), source);
  const config = {
    compilerOptions: {
      strict: true, noEmit: true, target: 'ES2022', module, moduleResolution: module === 'commonjs' ? 'node10' : 'nodenext',
      types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')], esModuleInterop: true, skipLibCheck: true,
      baseUrl: dir, paths: { tinynn: [path.join(root, 'dist', 'index.d.ts')] },
    },
    files: [file],
  };
  const project = path.join(dir, `tsconfig.${module}.json`);
  fs.writeFileSync(project, JSON.stringify(config));
  try {
    execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
    return '';
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? e);
  }
}

describe('the README example', () => {
  it('is found', () => {
    expect(example).toContain("from 'tinynn'");
  });

  it('compiles as CommonJS TypeScript', () => {
    expect(typecheck('example.ts', example, 'commonjs')).toBe('');
  });

  it('compiles as an ES module', () => {
    expect(typecheck('example.mts', example, 'nodenext')).toBe('');
  });

  it('can import every name the package exports, as named ES module imports too', async () => {
    const esm = await import('../esm/index.mjs');
    const cjs = await import('../dist/index.js');
    const named = Object.keys(esm).filter((k) => k !== 'default').sort();
    expect(named).toEqual(Object.keys(cjs.default ?? cjs).filter((k) => k !== 'default' && k !== '__esModule').sort());
  });

  it('is really checked: a wrong call is a type error', () => {
    expect(typecheck('broken.ts', example.replace("model.to('auto')", 'model.to(42)'), 'commonjs')).toMatch(/error TS/);
  });
});
