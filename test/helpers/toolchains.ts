// Builds guest fixtures with the real toolchains, caching each result under
// test/.build by a hash of its inputs so that reruns are instant.
//
//   const wasm = await jsCompute("test/fixtures/js/hello.js");
//   const wasm = await rust("test/fixtures/rust/hello.rs");
//   const wasm = await clang("test/fixtures/c/hello.c");
//
// A missing toolchain skips the tests that need it (see `toolchain`), except
// when OUTPOST_REQUIRE_TOOLCHAINS is set (CI), where it fails them.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, "../..");
const CACHE = join(ROOT, "test/.build");

export const TOOLCHAINS = {
  "js-compute": join(ROOT, "node_modules/.bin/js-compute-runtime"),
  rust: "/usr/bin/rustc",
  clang: "/usr/bin/clang-14",
} as const;
export type Toolchain = keyof typeof TOOLCHAINS;

const REQUIRED = Boolean(process.env.OUTPOST_REQUIRE_TOOLCHAINS);

/** Whether a toolchain is installed; throws on CI when it is not. */
export function toolchain(name: Toolchain): boolean {
  const present = existsSync(TOOLCHAINS[name]) && (name !== "rust" || existsSync("/usr/lib/rustlib/wasm32-wasi"));
  if (!present && REQUIRED) throw new Error(`toolchain ${name} is missing (${TOOLCHAINS[name]}); .ci/run installs it`);
  if (!present) console.warn(`skipping tests that need ${name}: ${TOOLCHAINS[name]} is not installed (see README)`);
  return present;
}

async function cached(kind: string, inputs: string[], build: (out: string) => Promise<void>): Promise<Uint8Array> {
  const hash = createHash("sha256").update(kind);
  for (const input of inputs) hash.update(readFileSync(resolve(ROOT, input)));
  const out = join(CACHE, `${kind}-${hash.digest("hex").slice(0, 16)}.wasm`);
  if (!existsSync(out)) {
    mkdirSync(CACHE, { recursive: true });
    const partial = `${out}.${process.pid}.tmp`;
    await build(partial);
    renameSync(partial, out);
  }
  return readFileSync(out);
}

async function tool(command: string, args: string[], options: { cwd?: string } = {}): Promise<void> {
  try {
    await run(command, args, { cwd: options.cwd ?? ROOT, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed:\n${stderr ?? ""}${stdout ?? ""}`);
  }
}

/** A JavaScript guest built with @fastly/js-compute; `flags` go to its build (e.g. `--enable-http-cache`). */
export function jsCompute(source: string, flags: string[] = []): Promise<Uint8Array> {
  const kind = ["js", ...flags].join("").replace(/[^a-z0-9]+/gi, "-");
  return cached(kind, [source], (out) => tool(TOOLCHAINS["js-compute"], [...flags, resolve(ROOT, source), out]));
}

/** A Rust guest built with Debian's rustc for wasm32-wasi (no crates: std only). */
export function rust(source: string): Promise<Uint8Array> {
  return cached("rust", [source], (out) =>
    tool(TOOLCHAINS.rust, ["--edition", "2021", "--target", "wasm32-wasi", "-C", "opt-level=s", "-C", "strip=symbols", "-o", out, resolve(ROOT, source)]),
  );
}

/** A C guest built with clang and wasi-libc. `headers` are extra inputs that affect the build. */
export function clang(source: string, headers: string[] = []): Promise<Uint8Array> {
  return cached("c", [source, ...headers], (out) =>
    tool(TOOLCHAINS.clang, ["--target=wasm32-wasi", "--sysroot=/usr", "-Os", "-Wl,--strip-all", "-o", out, resolve(ROOT, source)]),
  );
}
