// Project folders for the lifecycle commands' tests (init, build, pack,
// validate, serve --watch): temporary, with the files given.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "tar";
import { ROOT } from "./toolchains.ts";

/** A new empty temporary folder. */
export function tempDir(prefix = "outpost-project-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A temporary project holding `files` (path → content). */
export function tempProject(files: Record<string, string | Uint8Array>): string {
  const dir = tempDir();
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** A WAT app's fastly.toml: built with wat2wasm (from Outpost's node_modules), so builds take a fraction of a second. */
export function watManifest(name = "wat-app", extra = ""): string {
  return `manifest_version = 3\nname = "${name}"\nlanguage = "other"\n\n[scripts]\nbuild = "wat2wasm src/main.wat -o bin/main.wasm"\n${extra}`;
}

/** A WAT app answering every request with `text` (at most 200 bytes). */
export function helloWat(text: string): string {
  const escaped = text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  return `(module
  (import "fastly_http_resp" "new" (func $resp_new (param i32) (result i32)))
  (import "fastly_http_body" "new" (func $body_new (param i32) (result i32)))
  (import "fastly_http_body" "write" (func $body_write (param i32 i32 i32 i32 i32) (result i32)))
  (import "fastly_http_resp" "send_downstream" (func $send_downstream (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "${escaped}")
  (func (export "_start")
    (drop (call $resp_new (i32.const 0)))
    (drop (call $body_new (i32.const 4)))
    (drop (call $body_write (i32.load (i32.const 4)) (i32.const 64) (i32.const ${Buffer.byteLength(text)}) (i32.const 0) (i32.const 8)))
    (drop (call $send_downstream (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.const 0)))))
`;
}

/** The hello example's module, built by `npm install` (scripts/build-examples.mjs). */
export function helloWasm(): Buffer {
  return readFileSync(join(ROOT, "examples/hello/bin/main.wasm"));
}

/** Polls `check` until it returns something truthy, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 20_000, what = "the condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A .tar.gz of `files` (path → content), made with the tar package: for packages laid out by hand. */
export async function tarGz(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = tempProject(files);
  const out = join(tempDir(), "package.tar.gz");
  await create({ gzip: true, file: out, cwd: dir, portable: true }, Object.keys(files));
  return out;
}
