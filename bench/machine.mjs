// What the results are filed under: a short slug of the machine (CPU model and cores, plus the GPU
// when CUDA systems ran) and a description of the software that was measured.
import * as os from 'os';

/** "AMD EPYC 7B13 64-Core Processor" → "amd-epyc-7b13"; "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz" → "intel-xeon-platinum-8480". */
function slug(model) {
  return model.toLowerCase()
    .replace(/\((r|tm)\)/g, ' ')
    .replace(/@.*$/, '')
    .replace(/\b(cpu|processor|\d+-core)\b/g, ' ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export const cpuModel = () => os.cpus()[0]?.model.trim() || os.arch();
export const cores = () => os.availableParallelism();

/** e.g. "amd-epyc-2c", "intel-xeon-platinum-8480-16c-nvidia-h200". */
export function machineSlug(gpuName) {
  return [`${slug(cpuModel())}-${cores()}c`, gpuName ? slug(gpuName) : ''].filter(Boolean).join('-');
}

/** YYYY-MM-DD in local time. */
export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function machineInfo() {
  return { cpu: cpuModel(), cores: cores(), memoryGiB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version };
}
