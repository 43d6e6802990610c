// A benchmark target, run as a child process of the benchmark so that the
// load generator does not share an event loop (or a thread) with it.
//
//   node bench/server.ts node                      bare node:http hello
//   node bench/server.ts hono                      hono on @hono/node-server, the same hello
//   node bench/server.ts origin [SLOW_MS]          bare node:http origin for the cache benchmarks
//   node bench/server.ts outpost FILE.wasm [N|-] [PATH/fastly.toml] [BACKEND=URL ...]
//                                                  Outpost serving FILE.wasm with N workers
//                                                  (- or none: one per core), the manifest's
//                                                  [local_server] (config stores, ...) and backends
//
// Listens on a free loopback port and reports { url } to the parent over IPC.
// The origin answers questions over IPC: { id, type: "counts" } is answered
// { id, answer: { path: requests } }.
// Exits when the parent goes away (IPC channel closed), so no server outlives
// a benchmark run, even one that crashed.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { parseManifest } from "../runtime/config/manifest.ts";
import type { Logger } from "../runtime/server/logger.ts";
import { startServer } from "../runtime/server/start-server.ts";

const [kind, wasm, workers, ...rest] = process.argv.slice(2);
const BODY = "Hello from Outpost!\n";
/** The cache benchmarks' bodies, by the last segment of the path. */
const ORIGIN_BODIES: Record<string, Buffer> = { "2b": Buffer.from("ok"), "10k": Buffer.alloc(10 * 1024, "x") };
/** A slow origin's body (paths under /slow/): SLOW_CHUNKS chunks of 1 KiB spread over SLOW_MS. */
const SLOW_CHUNKS = 10;
const SLOW_CHUNK = Buffer.alloc(1024, "s");
const CACHEABLE = { "content-type": "text/plain", "cache-control": "public, max-age=3600", "surrogate-key": "bench" };

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
} else if (kind === "hono") {
  const app = new Hono();
  app.get("/", (c) => c.text(BODY));
  url = await new Promise<string>((resolve) => {
    serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => resolve(`http://127.0.0.1:${info.port}`));
  });
} else if (kind === "origin") {
  const slowMs = Number(process.argv[3] ?? 200);
  const counts: Record<string, number> = {};
  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, (req, res) => {
    const path = req.url ?? "/";
    counts[path] = (counts[path] ?? 0) + 1;
    if (path.startsWith("/slow/")) return void slowBody(res, slowMs);
    const body = ORIGIN_BODIES[path.slice(path.lastIndexOf("/") + 1)];
    if (!body) {
      res.writeHead(404, { "content-length": 0, "cache-control": "no-store" });
      return void res.end();
    }
    res.writeHead(200, { ...CACHEABLE, "content-length": body.byteLength });
    res.end(body);
  });
  process.on("message", (message: { id: number; type: string }) => {
    if (message.type === "counts") process.send!({ id: message.id, answer: counts });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
} else if (kind === "outpost" && wasm) {
  // A fastly.toml first (its [local_server] tables), then the backends, appended to it as tables of their own.
  const manifestPath = rest[0]?.endsWith(".toml") ? resolve(rest[0]) : null;
  const backends = manifestPath ? rest.slice(1) : rest;
  let toml = manifestPath ? `${readFileSync(manifestPath, "utf8")}\n` : "";
  for (const backend of backends) {
    const [name, target] = backend.split(/=(.*)/);
    toml += `[local_server.backends.${name}]\nurl = ${JSON.stringify(target)}\n`;
  }
  const server = await startServer({
    wasm,
    manifest: parseManifest(toml, manifestPath, manifestPath ? dirname(manifestPath) : dirname(wasm)),
    host: "127.0.0.1",
    port: 0,
    logger,
    workers: workers && workers !== "-" ? Number(workers) : undefined,
  });
  url = server.url;
} else {
  throw new Error(`usage: node bench/server.ts node | hono | origin [SLOW_MS] | outpost FILE.wasm [WORKERS|-] [FASTLY.toml] [BACKEND=URL ...]`);
}
process.send({ url });

/** Headers at once, then the body in chunks spread over `ms` (the response is complete after `ms`). */
function slowBody(res: ServerResponse, ms: number): void {
  res.writeHead(200, CACHEABLE);
  res.flushHeaders();
  let sent = 0;
  const timer = setInterval(() => {
    res.write(SLOW_CHUNK);
    if (++sent === SLOW_CHUNKS) {
      clearInterval(timer);
      res.end();
    }
  }, ms / SLOW_CHUNKS);
  res.on("close", () => clearInterval(timer));
}
