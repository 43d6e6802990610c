#!/usr/bin/env node
// Entry point of the `outpost` command. Outpost needs Node.js 24 or newer
// (for WebAssembly JSPI); when started by an older Node, it re-runs itself
// with the Node that `npm install` placed in node_modules. It also re-runs
// `serve` with V8's code protection keys off on CPUs that have them: they can
// abort a process that compiles and frees Wasm code on many threads
// (runtime/engine/code-protection.ts).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import nodeModule, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const MIN_MAJOR = 24;
const NO_CODE_PROTECTION = "--no-memory-protection-keys";
const major = Number(process.versions.node.split(".")[0]);

/** The CPU has memory protection keys (Linux: `pku` in /proc/cpuinfo). */
function cpuHasProtectionKeys() {
  try {
    return process.platform === "linux" && /^flags\s*:.*\bpku\b/m.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return false;
  }
}

/** Runs this command again under `node` with the flag, passing signals on, and exits as it does. */
function rerun(node) {
  const child = spawn(node, [NO_CODE_PROTECTION, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (major < MIN_MAJOR) {
  let bundled = null;
  try {
    bundled = join(dirname(createRequire(import.meta.url).resolve("node/package.json")), "bin", "node");
  } catch {
    // not installed
  }
  if (!bundled || !existsSync(bundled)) {
    console.error(`outpost needs Node.js ${MIN_MAJOR} or newer (this is ${process.version}). Run \`npm install\` in the Outpost checkout, which installs one.`);
    process.exit(1);
  }
  rerun(bundled);
} else if (process.argv[2] === "serve" && !process.execArgv.includes(NO_CODE_PROTECTION) && cpuHasProtectionKeys()) {
  rerun(process.execPath);
} else {
  // Keep compiled (type-stripped) code between runs: it halves the start-up time.
  nodeModule.enableCompileCache?.();
  await import("../main.ts");
}
