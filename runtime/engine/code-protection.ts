// V8 write-protects compiled code with the CPU's memory protection keys (PKU)
// where the CPU has them, and its bookkeeping of those code pages can race
// when WebAssembly code is compiled and freed on many threads at once, as
// guest workers do: the process then aborts with "Check failed:
// jit_page.has_value()" (nodejs/node#64500; seen here once in about ten
// full test runs on a Xeon with PKU). Running Node with
// `--no-memory-protection-keys` turns that protection off; the flag must be
// given when the process starts (V8 reads it once), so entry points pass it
// (cli/bin/outpost.js, vitest.config.ts, the benchmarks).
import { readFileSync } from "node:fs";

export const NO_CODE_PROTECTION_FLAG = "--no-memory-protection-keys";

/** Whether this CPU has memory protection keys (Linux: the `pku` flag in /proc/cpuinfo). */
export function cpuHasProtectionKeys(): boolean {
  if (process.platform !== "linux") return false;
  try {
    return /^flags\s*:.*\bpku\b/m.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return false;
  }
}

/** Whether this process runs with V8's code protection keys on a CPU that has them. */
export function codeProtectionActive(): boolean {
  return !process.execArgv.includes(NO_CODE_PROTECTION_FLAG) && cpuHasProtectionKeys();
}
