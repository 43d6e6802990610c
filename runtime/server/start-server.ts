// Starting an Outpost server: load the module and the manifest's backends,
// start the guest workers, and listen for clients.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Backends } from "../backends/backend.ts";
import type { Manifest } from "../config/manifest.ts";
import type { UnknownImportPolicy } from "../engine/linker.ts";
import { loadModule, readModuleFile } from "../engine/module-loader.ts";
import type { GuestLimits } from "../engine/protocol.ts";
import { guestEnvironment } from "./guest-env.ts";
import { Readthrough } from "../cache/readthrough.ts";
import { CacheStore } from "../cache/store.ts";
import { GuestRuntime } from "./guest-runtime.ts";
import { hostServices } from "./services.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { consoleLogger, type Logger } from "./logger.ts";

/** The HTTP cache's default memory budget. */
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
/** The platform's largest cached object. */
const MAX_OBJECT_BYTES = 100 * 1024 * 1024;

export interface ServerOptions {
  /** Path of the Wasm module, or its bytes. */
  wasm: string | Uint8Array;
  manifest: Manifest;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  limits?: Partial<GuestLimits>;
  /** Memory budget of the HTTP cache, in bytes (default 256 MiB). */
  cacheBytes?: number;
  /** The cache's clock (ms since the epoch): tests pass a fake one to control expiry. */
  clock?: () => number;
  workers?: number;
  logger?: Logger;
  unknownImports?: UnknownImportPolicy;
}

export interface RunningServer {
  /** Base URL clients reach the server at. */
  url: string;
  port: number;
  runtime: GuestRuntime;
  cache: Readthrough;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? consoleLogger();
  const limits: GuestLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const unknownImports = options.unknownImports ?? "error";
  const bytes = typeof options.wasm === "string" ? readModuleFile(options.wasm) : options.wasm;
  const module = await loadModule(bytes, {
    memoryBytes: limits.memoryBytes,
    unknownImports,
    name: typeof options.wasm === "string" ? options.wasm : "module",
  });
  for (const warning of options.manifest.warnings) logger.warn(warning);
  const backends = new Backends(options.manifest.backends);
  const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const now = options.clock ?? Date.now;
  const cache = new Readthrough({
    store: new CacheStore({ maxBytes: cacheBytes, maxObjectBytes: Math.min(MAX_OBJECT_BYTES, cacheBytes), now }),
    now,
    onBackgroundError: (error) => logger.warn(`background revalidation failed: ${error.message}`),
  });
  const services = hostServices({ cache });
  const runtime = new GuestRuntime({ module, backends, cache, services, limits, env: guestEnvironment(), logger, workers: options.workers, unknownImports });
  await runtime.ready();
  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, runtime.handle);
  try {
    await listen(server, options.port ?? 7676, options.host ?? "127.0.0.1");
  } catch (error) {
    await runtime.close();
    await backends.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    runtime,
    cache,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      await backends.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
