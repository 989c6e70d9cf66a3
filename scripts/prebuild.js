#!/usr/bin/env node
// npm run prebuild: builds the addon (scripts/build-addon.js --force, cmake-js; CUDA compiled in
// when nvcc and the cuBLAS headers are found) and lays it out as `prebuildify --napi --strip
// --tag-libc` does: prebuilds/<platform>-<arch>/node.napi[.glibc|.musl].node, the names
// node-gyp-build matches. prebuildify itself is not used: it spawns `node-gyp rebuild` and this
// package builds with cmake-js; one Node-API binary per platform needs no more than this copy.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const platform = os.platform();
const arch = os.arch();

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error(`prebuild: ${cmd} ${args.join(' ')} failed (${r.error ? r.error.message : `exit ${r.status}`})`);
    process.exit(1);
  }
}

if (!process.argv.includes('--no-build')) run(process.execPath, [path.join(root, 'scripts', 'build-addon.js'), '--force']);

const built = path.join(root, 'build', 'Release', 'tinynn.node');
if (!fs.existsSync(built)) {
  console.error(`prebuild: ${built} is missing after the build`);
  process.exit(1);
}

// The same tags prebuildify writes: runtime "node" + "napi" (one binary for every Node with
// Node-API 8), and on Linux the libc, so a glibc build is never picked on musl (Alpine).
const tags = ['node', 'napi'];
if (platform === 'linux') tags.push(process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc'));
const dir = path.join(root, 'prebuilds', `${platform}-${arch}`);
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
const dest = path.join(dir, `${tags.join('.')}.node`);
fs.copyFileSync(built, dest);

if (platform === 'linux') run('strip', ['--strip-unneeded', dest]);
else if (platform === 'darwin') run('strip', ['-x', dest]);

// What went in: the size, and whether the CUDA backend is compiled in (loading it is the check
// that the copied file is a working addon).
const addon = require(dest);
const info = typeof addon.backends === 'function' ? addon.backends() : undefined;
const mib = (fs.statSync(dest).size / 1048576).toFixed(2);
console.log(`prebuild: ${path.relative(root, dest)} (${mib} MiB)`);
if (info) console.log('prebuild: backends() of this build here:', JSON.stringify(info));
