// A benchmark target, run as a child process of the benchmark so that the
// load generator does not share an event loop (or a thread) with it.
//
//   node bench/server.ts node                      bare node:http hello
//   node bench/server.ts outpost FILE.wasm [N]     Outpost serving FILE.wasm with N workers
//
// Listens on a free loopback port and reports { url } to the parent over IPC.
// Exits when the parent goes away (IPC channel closed), so no server outlives
// a benchmark run, even one that crashed.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { parseManifest } from "../runtime/config/manifest.ts";
import type { Logger } from "../runtime/server/logger.ts";
import { startServer } from "../runtime/server/start-server.ts";

const [kind, wasm, workers] = process.argv.slice(2);
const BODY = "Hello from Outpost!\n";

if (!process.send) throw new Error("bench/server.ts is started by the benchmarks (it reports over IPC)");
process.on("disconnect", () => process.exit(0));

/** No per-request log lines (they would cost more than the guest); notices go to stderr. */
const logger: Logger = {
  request: () => {},
  guest: () => {},
  info: () => {},
  warn: (message) => process.stderr.write(`[server] warning: ${message}\n`),
  error: (message) => process.stderr.write(`[server] error: ${message}\n`),
};

let url: string;
if (kind === "node") {
  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(BODY) });
    res.end(BODY);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
} else if (kind === "outpost" && wasm) {
  const server = await startServer({
    wasm,
    manifest: parseManifest("", null, dirname(wasm)),
    host: "127.0.0.1",
    port: 0,
    logger,
    workers: workers ? Number(workers) : undefined,
  });
  url = server.url;
} else {
  throw new Error(`usage: node bench/server.ts node | outpost FILE.wasm [WORKERS]`);
}
process.send({ url });
