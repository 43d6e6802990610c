// Varnish Cache as a contender in the cache benchmarks, when it is installed
// (Debian: `apt-get install varnish`); the benchmarks skip it with a note
// otherwise. It listens on loopback only, with its VCL, working directory and
// storage in a fresh temporary directory, and it never outlives the run
// (bench/contenders/external.ts; its cache process exits with its manager).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../lib.ts";
import { chooseExecutable, startDaemon, tempDir } from "./external.ts";

/**
 * The varnishd executable, or null when Varnish is not installed.
 * BENCH_VARNISHD=/path/to/varnishd picks another one; BENCH_VARNISHD=none leaves Varnish out.
 */
export function findVarnishd(): string | null {
  return chooseExecutable("BENCH_VARNISHD", "varnishd", ["/usr/sbin", "/usr/local/sbin"]);
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
  const dir = tempDir("varnish");
  const vcl = join(dir.path, "bench.vcl");
  // The built-in VCL does the rest: GETs without cookies or Authorization are looked up and cached for the origin's max-age.
  writeFileSync(vcl, `vcl 4.1;\n\nbackend origin {\n  .host = "${backend.hostname}";\n  .port = "${backend.port}";\n}\n`);
  const port = await freePort();
  const args = [
    "-F", // foreground: the manager stays our child
    "-j", "none", // no privilege separation: run as the current user
    "-n", join(dir.path, "work"),
    "-a", `127.0.0.1:${port}`,
    "-T", "none", // no management interface
    "-f", vcl,
    "-s", "malloc,256m", // the same budget as Outpost's default cache
  ];
  const daemon = await startDaemon({ name: "varnishd", command: varnishd, args, url: `http://127.0.0.1:${port}`, dir, timeoutMs });
  const version = /varnish-[\d.]+/.exec(daemon.output())?.[0] ?? "varnish";
  return { url: daemon.url, version, stop: daemon.stop };
}

/** Whether a Varnish response was a cache hit: X-Varnish then holds two transaction ids. */
export function varnishHit(headers: Headers): boolean {
  return (headers.get("x-varnish") ?? "").trim().split(/\s+/).length === 2;
}
