// Run by the cross-test scripts as `node compare.cjs <label> <platform-arch> <native JSON> <emulated
// JSON> [kernel set the emulated run must use]` (lines printed by smoke.cjs): the emulated run must
// be the wanted platform, have loaded a prebuild for it (with the kernels asked for), both addons
// must have basic finalizers, and the emulated run must match the native x64 run's loss within
// 1e-5 (relative) and its accuracy within 1%.
'use strict';
const [label, want, nativeLine, emulatedLine, wantKernel] = process.argv.slice(2);
const a = JSON.parse(nativeLine);
const b = JSON.parse(emulatedLine);
const problems = [];
if (`${b.platform}-${b.arch}` !== want) problems.push(`ran as ${b.platform}-${b.arch}, not ${want}`);
if (!b.addon.replace(/\\/g, '/').startsWith(`prebuilds/${want}/`)) problems.push(`loaded ${b.addon}, not a prebuild for ${want}`);
if (b.cpu !== true) problems.push('backends().cpu is not true');
// An emulated CPU without AVX must have the kernels pick their baseline copies.
if (wantKernel && b.gemmKernel !== wantKernel) problems.push(`the emulated run used the ${b.gemmKernel} kernels, not ${wantKernel}`);
// Built with Node's own headers (CMakeLists.txt): dropped tensors are freed inside the GC.
for (const [run, r] of [['natively', a], ['emulated', b]]) if (r.basicFinalizers !== true) problems.push(`the addon loaded ${run} was built without basic finalizers`);
if (!(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss))) problems.push(`loss ${b.loss} vs ${a.loss} natively`);
if (!(Math.abs(a.accuracy - b.accuracy) <= 0.01)) problems.push(`accuracy ${b.accuracy} vs ${a.accuracy} natively`);
if (problems.length) {
  console.error(`${label}: FAILED: ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`${label}: OK (${b.addon}, ${b.gemmKernel} kernels, ${b.executor} executor, loss ${b.loss} as natively within 1e-5, exited by itself)`);
