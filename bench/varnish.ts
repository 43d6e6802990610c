// Varnish Cache as a contender in the cache benchmarks, when it is installed
// (Debian: `apt-get install varnish`); the benchmarks skip it with a note
// otherwise. It listens on loopback only, with its VCL, working directory and
// storage in a fresh temporary directory, and it never outlives the run:
// it is killed with the benchmark's other children, and when `setpriv` is
// there it also gets SIGKILL from the kernel if the benchmark dies (its
// cache process exits with its manager).
import { spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, trackChild } from "./lib.ts";

function findExecutable(name: string, extra: string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), ...extra]) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not there
    }
  }
  return null;
}

/**
 * The varnishd executable, or null when Varnish is not installed.
 * BENCH_VARNISHD=/path/to/varnishd picks another one; BENCH_VARNISHD=none leaves Varnish out.
 */
export function findVarnishd(): string | null {
  const chosen = process.env.BENCH_VARNISHD;
  if (chosen === "none") return null;
  if (chosen) return chosen;
  return findExecutable("varnishd", ["/usr/sbin", "/usr/local/sbin"]);
}

export const VARNISH_MISSING = "varnishd not found (Debian: `apt-get install varnish`; or BENCH_VARNISHD=/path/to/varnishd), or left out with BENCH_VARNISHD=none: Varnish";

export interface VarnishProcess {
  url: string;
  version: string;
  stop(): Promise<void>;
}

/** Starts varnishd in front of `backendUrl` (an http://127.0.0.1:PORT origin) with a 256 MiB malloc store. */
export async function startVarnish(varnishd: string, backendUrl: string, timeoutMs = 20_000): Promise<VarnishProcess> {
  const backend = new URL(backendUrl);
  const dir = mkdtempSync(join(tmpdir(), "outpost-bench-varnish-"));
  const vcl = join(dir, "bench.vcl");
  // The built-in VCL does the rest: GETs without cookies or Authorization are looked up and cached for the origin's max-age.
  writeFileSync(vcl, `vcl 4.1;\n\nbackend origin {\n  .host = "${backend.hostname}";\n  .port = "${backend.port}";\n}\n`);
  const port = await freePort();
  const args = [
    "-F", // foreground: the manager stays our child
    "-j", "none", // no privilege separation: run as the current user
    "-n", join(dir, "work"),
    "-a", `127.0.0.1:${port}`,
    "-T", "none", // no management interface
    "-f", vcl,
    "-s", "malloc,256m", // the same budget as Outpost's default cache
  ];
  const setpriv = findExecutable("setpriv");
  const child = setpriv
    ? spawn(setpriv, ["--pdeathsig", "KILL", varnishd, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(varnishd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const stopChild = trackChild(child);
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const removeDir = () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  process.once("exit", removeDir);
  const stop = async () => {
    await stopChild();
    removeDir();
    process.off("exit", removeDir);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`varnishd exited (${child.signalCode ?? child.exitCode}) before listening:\n${output}`);
    }
    try {
      const response = await fetch(`${url}/`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      break;
    } catch {
      if (performance.now() > deadline) {
        await stop();
        throw new Error(`varnishd did not answer on ${url} in ${timeoutMs} ms:\n${output}`);
      }
      await sleep(100);
    }
  }
  const version = /varnish-[\d.]+/.exec(output)?.[0] ?? "varnish";
  return { url, version, stop };
}

/** Whether a Varnish response was a cache hit: X-Varnish then holds two transaction ids. */
export function varnishHit(headers: Headers): boolean {
  return (headers.get("x-varnish") ?? "").trim().split(/\s+/).length === 2;
}
