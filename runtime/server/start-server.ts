// Starting an Outpost server: load the module and the manifest's backends,
// start the guest workers, and listen for clients.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions as HttpServerOptions, type ServerResponse } from "node:http";
import type { Server as NetServer } from "node:net";
import { listen, listeningAt } from "../net/listen.ts";
import { Backends } from "../backends/backend.ts";
import { DynamicBackends } from "../backends/dynamic.ts";
import type { Manifest } from "../config/manifest.ts";
import type { UnknownImportPolicy } from "../engine/linker.ts";
import { loadModule, readModuleFile } from "../engine/module-loader.ts";
import type { GuestLimits } from "../engine/protocol.ts";
import { guestEnvironment } from "./guest-env.ts";
import { Readthrough } from "../cache/readthrough.ts";
import { CacheStore } from "../cache/store.ts";
import { CoreCache } from "../cache/core-cache.ts";
import { HttpCacheApi } from "../cache/http-cache-api.ts";
import { CachePersistence } from "../cache/persistence.ts";
import { type AdminAddress, type AdminServer, startAdminServer } from "../admin/admin-server.ts";
import { purgeMethodHandler } from "../admin/purge-method.ts";
import { RequestCounters } from "../admin/request-counters.ts";
import { GuestRuntime } from "./guest-runtime.ts";
import { hostServices } from "./services.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { consoleLogger, type Logger } from "./logger.ts";
import { configStoreData, parseConfigStores } from "../config/config-stores.ts";
import { parseSecretStores } from "../config/secret-stores.ts";
import { parseDeviceDetection } from "../config/device-detection.ts";
import { parseGeolocation } from "../config/geolocation.ts";
import { watchConfigStores } from "../stores/config-watch.ts";
import { EMPTY_SERVICE_DATA, type ServiceData } from "../stores/service-data.ts";
import { parseKvStores } from "../config/kv-stores.ts";
import { KvDatabase } from "../stores/kv-database.ts";
import { parseAcls } from "../config/acls.ts";
import { parseShieldingSites } from "../config/shielding-sites.ts";
import { parseFakeFastlyKeys } from "../config/fake-fastly-keys.ts";
import { ConfigError } from "../config/config-error.ts";
import { EdgeRateLimits } from "../stores/rate-limit.ts";
import { originBackend, parseOriginUrl, ProxyService } from "./proxy-service.ts";
import { handoffService } from "./handoff.ts";
import { acceptUpgrades, isWebSocketHandshake } from "./upgrade-requests.ts";
import { createTlsFront, type TlsIdentity } from "../net/tls-front.ts";
import { codeProtectionActive, NO_CODE_PROTECTION_FLAG } from "../engine/code-protection.ts";

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
  /** The server's clock (ms since the epoch) for the cache, KV TTLs and rate limiting: tests pass a fake one to control expiry. */
  clock?: () => number;
  workers?: number;
  logger?: Logger;
  unknownImports?: UnknownImportPolicy;
  /** Directory that keeps the HTTP cache across restarts (`--cache-dir`). */
  cacheDir?: string;
  /** Where the admin API (purges, /metrics, /health) listens; none when absent. */
  admin?: AdminAddress;
  /** Token the admin API and `PURGE` requests require in a `Fastly-Key` header. */
  adminToken?: string;
  /** Take the client address guests see from an X-Outpost-Client-IP request header (local testing; runtime/server/client-ip.ts). */
  clientIpHeader?: boolean;
  /** Directory that keeps the KV stores across restarts (`--state-dir`); in memory when absent. */
  stateDir?: string;
  /** Port of a Pushpin on this machine, for Fanout handoffs (`--local-pushpin-proxy-port`). */
  pushpinPort?: number;
  /** Serve HTTPS with this certificate and key (`--tls-cert`, `--tls-key`, `--tls-client-ca`). */
  tls?: TlsIdentity;
}

/** `outpost serve --origin`: the no-code caching service, one origin behind the cache and no guest. */
export interface OriginServerOptions {
  /** The origin's URL: http or https, with an optional path prefix. */
  origin: string;
  /** The Host header the origin receives (default: the origin URL's host). */
  overrideHost?: string;
  /** CA certificates (PEM) trusted besides the system's for an https origin (`--origin-ca`). */
  originCa?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  cacheBytes?: number;
  clock?: () => number;
  logger?: Logger;
  cacheDir?: string;
  admin?: AdminAddress;
  adminToken?: string;
  /** No request log lines (`--quiet`; the logger's other lines stay). */
  quiet?: boolean;
  /** Serve HTTPS with this certificate and key. */
  tls?: TlsIdentity;
}

/** What both kinds of server (with an app, or the no-code service) have. */
interface ListeningServer {
  /** Base URL clients reach the server at. */
  url: string;
  port: number;
  cache: Readthrough;
  /** The admin API's base URL, when it runs. */
  admin: { url: string; port: number } | null;
  close(): Promise<void>;
}

/** A running no-code caching service. */
export interface RunningOriginServer extends ListeningServer {
  /** The origin as parsed. */
  origin: URL;
}

export interface RunningServer extends ListeningServer {
  runtime: GuestRuntime;
}

export async function startServer(options: ServerOptions): Promise<RunningServer>;
export async function startServer(options: OriginServerOptions): Promise<RunningOriginServer>;
export async function startServer(options: ServerOptions | OriginServerOptions): Promise<RunningServer | RunningOriginServer> {
  if ("origin" in options) return startOriginServer(options);
  const logger = options.logger ?? consoleLogger();
  const limits: GuestLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const unknownImports = options.unknownImports ?? "error";
  // Store data is read and checked first: a mistake in it stops the start with one clear message.
  const configStores = parseConfigStores(options.manifest);
  const data: ServiceData = {
    ...EMPTY_SERVICE_DATA,
    configStores: configStoreData(configStores.stores),
    secretStores: parseSecretStores(options.manifest),
    geolocation: parseGeolocation(options.manifest, (message) => logger.warn(message)),
    deviceDetection: parseDeviceDetection(options.manifest, (message) => logger.warn(message)),
    acls: parseAcls(options.manifest, (message) => logger.warn(message)),
    shieldingSites: parseShieldingSites(options.manifest),
    fakeValidFastlyKeys: parseFakeFastlyKeys(options.manifest),
  };
  const kvStores = parseKvStores(options.manifest.localServer, options.manifest.path ?? "fastly.toml", options.manifest.dir);
  const bytes = typeof options.wasm === "string" ? readModuleFile(options.wasm) : options.wasm;
  const module = await loadModule(bytes, {
    memoryBytes: limits.memoryBytes,
    unknownImports,
    name: typeof options.wasm === "string" ? options.wasm : "module",
  });
  for (const warning of options.manifest.warnings) logger.warn(warning);
  if (codeProtectionActive()) {
    logger.warn(`this CPU has memory protection keys: run Node with ${NO_CODE_PROTECTION_FLAG} (outpost serve does), or V8 may abort under guest load (runtime/engine/code-protection.ts)`);
  }
  for (const warning of configStores.warnings) logger.warn(warning);
  const backends = new Backends(options.manifest.backends);
  const now = options.clock ?? Date.now;
  // KV stores live in the state directory when there is one (and a store to keep), else in memory.
  const kv = KvDatabase.open({ dir: kvStores.length > 0 ? (options.stateDir ?? null) : null, now, warn: (message) => logger.warn(message) });
  const seeded = kv.declareStores(kvStores);
  if (kv.path) logger.info(`kv: ${kvStores.length} store${kvStores.length === 1 ? "" : "s"} kept in ${kv.path} (${seeded.seeded} seeded, ${seeded.kept} kept as the app left them)`);
  const { cache, persistence } = await openHttpCache(options.cacheBytes, options.cacheDir, now, logger);
  const httpCache = new HttpCacheApi({ store: cache.store, now, metrics: cache.metrics, onStored: persistence?.saved });
  const dynamicBackends = new DynamicBackends({ staticNames: options.manifest.backends.map((backend) => backend.name) });
  const handoff = handoffService({ backends, dynamicBackends, pushpinPort: options.pushpinPort, logger });
  const services = {
    ...hostServices({ cache, coreCache: new CoreCache({ store: cache.store, now }), httpCache, dynamicBackends, kv, erl: new EdgeRateLimits({ now }) }),
    /** WebSocket and Fanout handoffs: see runtime/hostcalls/handoff.ts. */
    handoff: handoff.service,
  };
  const runtime = new GuestRuntime({ module, backends, dynamicBackends, cache, services, data, limits, env: guestEnvironment(), logger, workers: options.workers, unknownImports, clientIpHeader: options.clientIpHeader });
  await runtime.ready();
  // JSON config stores are read again when their files change.
  const configWatch = watchConfigStores(configStores.stores, { logger, update: (stores) => runtime.updateData({ configStores: stores }) });
  const requests = new RequestCounters();
  const purge = purgeMethodHandler(cache, options.adminToken);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    requests.track(res);
    // The platform answers PURGE requests itself, before any guest runs.
    if (req.method === "PURGE") return purge(req, res);
    runtime.handle(req, res);
  };
  const { server, listener, scheme, stopListening } = createClientServer(options.tls, handler, { shouldUpgradeCallback: isWebSocketHandshake });
  // A WebSocket handshake reaches the guest too, which may hand the connection to a backend.
  acceptUpgrades(server, (req, res) => {
    requests.track(res);
    runtime.handle(req, res);
  });
  let admin: AdminServer | null = null;
  try {
    await listen(listener, options.port ?? 7676, options.host ?? "127.0.0.1");
    if (options.admin) admin = await startAdminServer(options.admin, { cache, token: options.adminToken, requests, logger, kv });
  } catch (error) {
    if (listener.listening) await stopListening();
    configWatch.close();
    await runtime.close();
    await backends.close();
    await dynamicBackends.close();
    await kv.close();
    throw error;
  }
  const { url, port } = listeningAt(listener, options.host ?? "127.0.0.1", scheme);
  return {
    url,
    port,
    runtime,
    cache,
    admin: admin && { url: admin.url, port: admin.port },
    async close() {
      await admin?.close();
      handoff.close();
      await stopListening();
      configWatch.close();
      await runtime.close();
      await backends.close();
      await dynamicBackends.close();
      await persistence?.flush();
      await kv.close();
    },
  };
}

/** The HTTP cache: the store under its memory budget, on disk with --cache-dir, and the readthrough in front of origins. */
async function openHttpCache(cacheBytes = DEFAULT_CACHE_BYTES, cacheDir: string | undefined, now: () => number, logger: Logger) {
  // --cache-dir: the store says what leaves it, the readthrough what completes.
  const persistence = cacheDir ? new CachePersistence({ dir: cacheDir, now, warn: (message) => logger.warn(message) }) : null;
  const store = new CacheStore({
    maxBytes: cacheBytes,
    maxObjectBytes: Math.min(MAX_OBJECT_BYTES, cacheBytes),
    now,
    onRemove: persistence?.removed,
    onSoftPurge: persistence?.saved,
  });
  if (persistence) {
    const loaded = await persistence.load(store);
    logger.info(`cache: ${loaded.loaded} objects loaded from ${persistence.dir}${loaded.expired ? ` (${loaded.expired} expired dropped)` : ""}`);
  }
  const cache = new Readthrough({
    store,
    now,
    onBackgroundError: (error) => logger.warn(`background revalidation failed: ${error.message}`),
    onStored: persistence?.saved,
  });
  return { cache, persistence };
}

/** The no-code caching service: the cache, the admin API and PURGE, one origin, and no guest or worker. */
async function startOriginServer(options: OriginServerOptions): Promise<RunningOriginServer> {
  const logger = options.logger ?? consoleLogger();
  const originUrl = parseOriginUrl(options.origin);
  if (options.overrideHost === "") throw new ConfigError("--override-host must not be empty");
  const now = options.clock ?? Date.now;
  const { cache, persistence } = await openHttpCache(options.cacheBytes, options.cacheDir, now, logger);
  const backend = originBackend(originUrl, options.overrideHost, options.originCa ? [options.originCa] : undefined);
  const requests = new RequestCounters();
  const proxy = new ProxyService({ cache, backend, logger, requests, quiet: options.quiet });
  const purge = purgeMethodHandler(cache, options.adminToken);
  const { server, listener, scheme, stopListening } = createClientServer(
    options.tls,
    (req, res) => {
      if (req.method === "PURGE") {
        requests.track(res);
        return purge(req, res);
      }
      proxy.handle(req, res);
    },
    { shouldUpgradeCallback: isWebSocketHandshake },
  );
  // WebSockets pass through to the origin (runtime/server/proxy-service.ts handleUpgrade).
  acceptUpgrades(server, proxy.handleUpgrade);
  let admin: AdminServer | null = null;
  try {
    await listen(listener, options.port ?? 7676, options.host ?? "127.0.0.1");
    if (options.admin) admin = await startAdminServer(options.admin, { cache, token: options.adminToken, requests, logger });
  } catch (error) {
    if (listener.listening) await stopListening();
    await backend.close();
    throw error;
  }
  const { url, port } = listeningAt(listener, options.host ?? "127.0.0.1", scheme);
  return {
    url,
    port,
    origin: originUrl,
    cache,
    admin: admin && { url: admin.url, port: admin.port },
    async close() {
      await admin?.close();
      proxy.tunnels.closeAll();
      await stopListening();
      await backend.close();
      await persistence?.flush();
    },
  };
}

/**
 * The server clients reach: plain HTTP, or HTTPS behind the front that reads
 * ClientHellos (runtime/net/tls-front.ts). `listener` is what listens.
 */
function createClientServer(tls: TlsIdentity | undefined, handler: RequestListener, extra: HttpServerOptions = {}) {
  const serverOptions = { keepAliveTimeout: 5_000, requestTimeout: 0, ...extra };
  if (tls) {
    const front = createTlsFront(tls, serverOptions, handler);
    return { server: front.server as Server, listener: front.listener, scheme: "https" as const, stopListening: () => front.close() };
  }
  const server = createServer(serverOptions, handler);
  const stopListening = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { server, listener: server as NetServer, scheme: "http" as const, stopListening };
}
