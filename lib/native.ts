// Loads the native addon: $TINYNN_ADDON if set, else through node-gyp-build (a prebuild for this
// platform, else build/Release), else build/Release directly where node_modules is absent
// (the plain-node GPU checks run without it).
import * as fs from 'fs';
import * as path from 'path';
import type { NativeModule } from './native-types';

const packageRoot = path.resolve(__dirname, '..');

function loadAddon(): NativeModule {
  const explicit = process.env.TINYNN_ADDON;
  if (explicit) return require(path.resolve(explicit)) as NativeModule;
  let nodeGypBuild: ((dir: string) => unknown) | undefined;
  try {
    nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  } catch {
    nodeGypBuild = undefined;
  }
  if (nodeGypBuild) return nodeGypBuild(packageRoot) as NativeModule;
  const built = path.join(packageRoot, 'build', 'Release', 'tinynn.node');
  if (fs.existsSync(built)) return require(built) as NativeModule;
  throw new Error(`tinynn: no native addon found (looked for node-gyp-build and ${built}); run npm install`);
}

/** The native addon, loaded once. */
export const native: NativeModule = loadAddon();
