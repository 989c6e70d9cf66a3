// Which of the benchmarked systems can run here, among those the command line selected: the
// PyTorch peer is started and TensorFlow.js loaded only when one of theirs is wanted, and the
// CUDA systems need a GPU that tinynn (backends()) or PyTorch can use. Each one left out gets a
// reason, printed and written with the results.
import { cores } from '../machine.mjs';
import { ALL_SYSTEMS } from '../options.mjs';
import { mnistDirectory, tinynn } from '../tinynn-package.mjs';
import { PytorchPeer, pytorchSystems } from './pytorch.mjs';
import { loadTfjs, tfjsSystems } from './tfjs.mjs';
import { tinynnSystems } from './tinynn.mjs';

/** { selected: systems to run, skipped: [{ systems, reason }], peer (or null), tf (or null) }. */
export async function availableSystems(opts, data) {
  const wanted = (prefix) => opts.systems.some((name) => name.startsWith(prefix));
  const systems = [];
  const skipped = [];
  const skip = (names, reason) => {
    const hit = names.filter((n) => opts.systems.includes(n));
    if (hit.length) skipped.push({ systems: hit, reason });
  };

  let peer = null;
  if (wanted('pytorch')) {
    try {
      peer = await PytorchPeer.start({ mnistDir: mnistDirectory(), scale: data.train.scale, shift: data.train.shift, threads: cores() });
    } catch (err) {
      skip(ALL_SYSTEMS.filter((n) => n.startsWith('pytorch')), `${err.message}; run npm run bench:setup`);
    }
  }
  const { tf, reason: noTfjs } = wanted('tfjs') ? loadTfjs() : { tf: null, reason: '' };
  if (!tf) skip(['tfjs-cpu', 'tfjs-wasm'], noTfjs);

  systems.push(...tinynnSystems('cpu', data));
  if (peer) systems.push(...pytorchSystems(peer, 'cpu'));
  if (tf) systems.push(...tfjsSystems(tf, data, opts.tfjsSamples));
  const backends = tinynn.backends();
  if (backends.cuda) systems.push(...tinynnSystems('cuda', data));
  else skip(ALL_SYSTEMS.filter((n) => n.startsWith('tinynn-cuda')), `no usable NVIDIA GPU: ${backends.reason}`);
  if (peer?.info.cuda) systems.push(...pytorchSystems(peer, 'cuda'));
  else if (peer) skip(ALL_SYSTEMS.filter((n) => n.startsWith('pytorch-cuda')), `no usable NVIDIA GPU: ${peer.info.cudaReason}`);
  return { selected: systems.filter((s) => opts.systems.includes(s.name)), skipped, peer, tf };
}
