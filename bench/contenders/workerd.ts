// workerd (Cloudflare's Workers runtime, from the npm package `workerd`) as a
// contender in the hello benchmark. It is not a dependency of Outpost (its
// binary is ~160 MiB): the first run that needs it installs it with npm into
// bench/.contenders/ (ignored by git), and a run where that fails (offline,
// unsupported platform) skips it with a note. The worker and its capnp
// configuration are written to a temporary directory; it listens on
// 127.0.0.1 only.
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { EXPECTED_BODY, freePort, ROOT } from "../lib.ts";
import { findExecutable, startDaemon, tempDir } from "./external.ts";

export const CONTENDERS_DIR = join(ROOT, "bench/.contenders");
/** What npm installs; BENCH_WORKERD_PACKAGE=workerd@1.2026… pins a version. */
const PACKAGE = process.env.BENCH_WORKERD_PACKAGE || "workerd";
/** A date every recent workerd supports; the worker uses no dated behaviour. */
const COMPATIBILITY_DATE = "2025-01-01";

/** Where npm puts the binary: the platform package (an optional dependency of `workerd`), or the copy in `workerd/bin`. */
function installedBinary(): string | null {
  const os = { linux: "linux", darwin: "darwin", win32: "windows" }[process.platform as string];
  const arch = { x64: "64", arm64: "arm64" }[process.arch as string];
  const exe = process.platform === "win32" ? "workerd.exe" : "workerd";
  const candidates = [
    ...(os && arch ? [join(CONTENDERS_DIR, "node_modules/@cloudflare", `workerd-${os}-${arch}`, "bin", exe)] : []),
    join(CONTENDERS_DIR, "node_modules/workerd/bin", exe),
  ];
  return candidates.find((path) => existsSync(path) && runs(path)) ?? null;
}

function runs(binary: string): boolean {
  return spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000 }).status === 0;
}

/**
 * The workerd binary: BENCH_WORKERD=/path picks one, BENCH_WORKERD=none leaves
 * workerd out (null); otherwise the one in bench/.contenders, installed there
 * with npm the first time. Throws with the reason when it cannot be had.
 */
export async function ensureWorkerd(): Promise<string | null> {
  const chosen = process.env.BENCH_WORKERD;
  if (chosen === "none") return null;
  if (chosen) return chosen;
  const installed = installedBinary();
  if (installed) return installed;
  const npm = findExecutable(process.platform === "win32" ? "npm.cmd" : "npm");
  if (!npm) throw new Error("npm is not on the PATH, so workerd cannot be installed");
  mkdirSync(CONTENDERS_DIR, { recursive: true });
  process.stderr.write(`bench: installing ${PACKAGE} with npm into bench/.contenders/ (first run only)...\n`);
  try {
    await promisify(execFile)(npm, ["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--prefix", CONTENDERS_DIR, PACKAGE], {
      cwd: CONTENDERS_DIR,
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`\`npm install ${PACKAGE}\` into bench/.contenders failed: ${(e.stderr || e.message).trim().split("\n").slice(-3).join(" ")}`);
  }
  const binary = installedBinary();
  if (!binary) throw new Error(`npm installed ${PACKAGE}, but no workerd binary that runs here came with it (unsupported platform?)`);
  return binary;
}

export function workerdVersion(binary: string): string {
  const out = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000 }).stdout ?? "";
  return out.trim() || "workerd";
}

/** A worker answering every request with the hello body, and the config that serves it on `port`. */
export function workerdFiles(port: number): { worker: string; config: string } {
  const worker = `export default {
  fetch() {
    return new Response(${JSON.stringify(EXPECTED_BODY)}, { headers: { "content-type": "text/plain; charset=utf-8" } });
  },
};
`;
  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .hello)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);

const hello :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${COMPATIBILITY_DATE}",
);
`;
  return { worker, config };
}

export async function startWorkerd(binary: string, timeoutMs = 20_000): Promise<{ url: string; version: string; stop(): Promise<void> }> {
  const dir = tempDir("workerd");
  const port = await freePort();
  const files = workerdFiles(port);
  writeFileSync(join(dir.path, "worker.js"), files.worker);
  writeFileSync(join(dir.path, "config.capnp"), files.config);
  const daemon = await startDaemon({
    name: "workerd",
    command: binary,
    args: ["serve", join(dir.path, "config.capnp")],
    cwd: dir.path,
    url: `http://127.0.0.1:${port}`,
    dir,
    timeoutMs,
  });
  return { url: daemon.url, version: workerdVersion(binary), stop: daemon.stop };
}
