// The SDKs' hello examples (examples/hello-assemblyscript, examples/hello-rust)
// built with `outpost build`, as a user would, and kept in bench/.build/
// under a hash of their sources and their SDK's, so that a re-run does not
// build again. A build that fails (a missing toolchain: Rust needs cargo and
// the wasm32-wasi standard library) throws with the end of its output, and
// the benchmark skips that guest with it as the note.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { cachedBuild, ROOT } from "../lib.ts";

/** Build products and state: not inputs of a build. */
const SKIP = new Set(["bin", "target", "node_modules", ".outpost", ".git"]);

/** A hash of every file under `dirs` (paths and contents). */
export function hashTree(dirs: string[]): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP.has(entry.name)) walk(path);
      } else if (entry.isFile()) {
        hash.update(`${relative(ROOT, path)}\0`).update(readFileSync(path)).update("\0");
      }
    }
  };
  for (const dir of dirs) walk(dir);
  return hash.digest("hex");
}

export interface SdkHello {
  wasm: string;
  /** The example's fastly.toml: its [local_server] holds what the guest reads (a config store). */
  manifest: string;
}

async function buildExample(example: string, sdk: string, extraKey = ""): Promise<SdkHello> {
  const dir = join(ROOT, "examples", example);
  const key = `${hashTree([dir, join(ROOT, "sdk", sdk)])}\n${extraKey}`;
  const wasm = await cachedBuild(example, key, async (out) => {
    process.stderr.write(`bench: building examples/${example} with \`outpost build\` (first run only)...\n`);
    try {
      await promisify(execFile)(process.execPath, [join(ROOT, "cli/bin/outpost.js"), "build", dir], {
        cwd: ROOT,
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      const e = error as Error & { stdout?: string; stderr?: string };
      const output = `${e.stdout ?? ""}\n${e.stderr ?? ""}`.trim() || e.message;
      throw new Error(`\`outpost build examples/${example}\` failed: ${output.split("\n").slice(-4).join(" ").slice(0, 600)}`);
    }
    copyFileSync(join(dir, "bin/main.wasm"), out);
  });
  return { wasm, manifest: join(dir, "fastly.toml") };
}

/** examples/hello-assemblyscript (answers "Hello, world!\n" with the greeting from its `settings` config store). */
export function assemblyScriptHello(): Promise<SdkHello> {
  const version = JSON.parse(readFileSync(join(ROOT, "node_modules/assemblyscript/package.json"), "utf8")).version;
  return buildExample("hello-assemblyscript", "assemblyscript", `asc ${version}`);
}

/** examples/hello-rust (the same answer as the AssemblyScript one). */
export function rustHello(): Promise<SdkHello> {
  return buildExample("hello-rust", "rust");
}
