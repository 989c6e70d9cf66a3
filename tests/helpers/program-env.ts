// The environment of a program that is not node running tinynn (the compiler, the CUDA emulator
// programs, Chromium): this process's, less the sanitizer runtimes scripts/sanitize.sh preloads
// into node and its children. Those check the addon; other programs are not built for them (the
// emulator's death cases crash on purpose, which a preloaded ASan reports as a finding; Chromium
// hangs under it).
export function programEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { LD_PRELOAD, ASAN_OPTIONS, UBSAN_OPTIONS, ...env } = process.env;
  return { ...env, ...extra };
}
