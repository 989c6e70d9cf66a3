#!/usr/bin/env node
// npm's install step: uses a prebuilt or already-built addon when one loads, else builds from
// source with cmake-js. --force always builds. TINYNN_CUDA=auto|on|off chooses the CUDA backend.
'use strict';
const { spawnSync } = require('child_process');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const force = process.argv.includes('--force');

function loadsAlready() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

if (!force && loadsAlready()) {
  console.log('tinynn: using the existing native addon (prebuild or earlier build)');
  process.exit(0);
}

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
} catch {
  console.error('tinynn: no prebuilt addon for this platform and cmake-js is not installed to build one');
  process.exit(1);
}
const args = [cmakeJs, 'build', '--directory', root, '--parallel', String(os.cpus().length)];
// Windows: Visual Studio's clang-cl (cl.exe lacks the GCC/Clang vector extensions cpp/ uses).
if (process.platform === 'win32') args.push('--toolset', 'ClangCL');
if (process.env.TINYNN_CUDA) args.push(`--CDTINYNN_CUDA=${process.env.TINYNN_CUDA}`);
const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
