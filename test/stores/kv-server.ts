// Starts an Outpost server for the KV tests: like test/helpers/outpost.ts
// `serve`, with a state directory (so that stores persist) and a clock.
import { parseManifest } from "../../runtime/config/manifest.ts";
import { MemoryLogger } from "../../runtime/server/logger.ts";
import { type RunningServer, startServer } from "../../runtime/server/start-server.ts";

export interface KvTestServer extends RunningServer {
  logger: MemoryLogger;
  get(path: string, init?: RequestInit): Promise<Response>;
}

export interface KvServerOptions {
  /** fastly.toml text. */
  manifest: string;
  /** Directory relative paths in the manifest are read from. */
  dir?: string;
  /** Keeps the stores across restarts; in memory when absent. */
  stateDir?: string;
  clock?: () => number;
  workers?: number;
  /** Start the admin API on a free loopback port. */
  admin?: boolean;
  adminToken?: string;
}

export async function kvServer(wasm: Uint8Array, options: KvServerOptions): Promise<KvTestServer> {
  const logger = new MemoryLogger();
  const server = await startServer({
    wasm,
    manifest: parseManifest(options.manifest, null, options.dir ?? process.cwd()),
    port: 0,
    logger,
    workers: options.workers ?? 2,
    clock: options.clock,
    stateDir: options.stateDir,
    admin: options.admin ? { host: "127.0.0.1", port: 0 } : undefined,
    adminToken: options.adminToken,
  });
  return Object.assign(server, { logger, get: (path: string, init?: RequestInit) => fetch(server.url + path, init) });
}
