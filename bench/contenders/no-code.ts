// Outpost's no-code service (`outpost serve --origin URL`: a caching reverse
// proxy with no guest) as a contender in the cache benchmarks. It is started
// through the command line, as a user would, in a child process listening on
// a loopback port chosen here, from an empty temporary directory (so that no
// fastly.toml around the checkout is picked up), with no admin API and no
// request log. A CLI that does not know --origin yet makes this a skip with
// a note, not a failure.
import { join } from "node:path";
import { freePort, ROOT } from "../lib.ts";
import { startDaemon, tempDir } from "./external.ts";

export async function startNoCode(originUrl: string, timeoutMs = 30_000): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = tempDir("no-code");
  const port = await freePort();
  const args = [
    join(ROOT, "cli/bin/outpost.js"),
    "serve",
    "--origin", originUrl,
    "--addr", `127.0.0.1:${port}`,
    "--admin-addr", "off",
    "--quiet",
  ];
  try {
    const daemon = await startDaemon({ name: "outpost serve --origin", command: process.execPath, args, cwd: dir.path, url: `http://127.0.0.1:${port}`, dir, timeoutMs });
    return { url: daemon.url, stop: daemon.stop };
  } catch (error) {
    const message = (error as Error).message;
    if (/unknown option '--origin'/.test(message)) {
      throw new Error("`outpost serve` does not take --origin yet (the no-code service is not merged)");
    }
    throw error;
  }
}
