// Starts an Outpost server in the test process, on a free loopback port.
import { parseManifest } from "../../runtime/config/manifest.ts";
import type { GuestLimits } from "../../runtime/engine/protocol.ts";
import { MemoryLogger } from "../../runtime/server/logger.ts";
import type { TlsIdentity } from "../../runtime/net/tls-front.ts";
import { type RunningServer, startServer } from "../../runtime/server/start-server.ts";

export interface TestServer extends RunningServer {
  logger: MemoryLogger;
  get(path: string, init?: RequestInit): Promise<Response>;
}

export interface TestServerOptions {
  /** fastly.toml text (for backends and other [local_server] settings). */
  manifest?: string;
  /** Backends by name → origin URL, added to the manifest. */
  backends?: Record<string, string>;
  limits?: Partial<GuestLimits>;
  workers?: number;
  unknownImports?: "error" | "trap";
  /** The cache's clock, to control expiry. */
  clock?: () => number;
  cacheBytes?: number;
  /** Honour X-Outpost-Client-IP, as `outpost serve` does. */
  clientIpHeader?: boolean;
  /** Where a local Pushpin listens, for Fanout handoffs. */
  pushpinPort?: number;
  /** Serve HTTPS with this identity. */
  tls?: TlsIdentity;
}

export async function serve(wasm: Uint8Array | string, options: TestServerOptions = {}): Promise<TestServer> {
  let toml = options.manifest ?? "";
  for (const [name, url] of Object.entries(options.backends ?? {})) {
    toml += `\n[local_server.backends.${name}]\nurl = "${url}"\n`;
  }
  const logger = new MemoryLogger();
  const server = await startServer({
    wasm,
    manifest: parseManifest(toml, null, process.cwd()),
    port: 0,
    logger,
    limits: options.limits,
    workers: options.workers ?? 2,
    unknownImports: options.unknownImports,
    clock: options.clock,
    cacheBytes: options.cacheBytes,
    clientIpHeader: options.clientIpHeader,
    pushpinPort: options.pushpinPort,
    tls: options.tls,
  });
  return Object.assign(server, {
    logger,
    get: (path: string, init?: RequestInit) => fetch(server.url + path, init),
  });
}
