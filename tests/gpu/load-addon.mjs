// The raw addon for the plain-node GPU checks: $TINYNN_ADDON, else build/Release/tinynn.node
// under the repository root. No node_modules needed.
import { createRequire } from 'module';
import * as path from 'path';
import { fileURLToPath } from 'url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const require = createRequire(import.meta.url);

export function addonPath() {
  return path.resolve(repoRoot, process.env.TINYNN_ADDON || 'build/Release/tinynn.node');
}

export function loadAddon() {
  return require(addonPath());
}

/** Reads `--out FILE` from argv (null when absent). */
export function outFile() {
  const i = process.argv.indexOf('--out');
  return i >= 0 ? process.argv[i + 1] : null;
}
