#!/usr/bin/env node
// Entry point of the `outpost` command. Outpost needs Node.js 24 or newer
// (for WebAssembly JSPI); when started by an older Node, it re-runs itself
// with the Node that `npm install` placed in node_modules.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import nodeModule, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const MIN_MAJOR = 24;
const major = Number(process.versions.node.split(".")[0]);

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
  const result = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}

// Keep compiled (type-stripped) code between runs: it halves the start-up time.
nodeModule.enableCompileCache?.();
await import("../main.ts");
