// `outpost serve [DIR]`: run a Compute app locally, as `fastly compute serve` does.
import { existsSync, mkdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { emptyManifest, readManifest } from "../../runtime/config/manifest.ts";
import { consoleLogger } from "../../runtime/server/logger.ts";
import { DEFAULT_LIMITS } from "../../runtime/server/limits.ts";
import { DEFAULT_CACHE_BYTES, startServer } from "../../runtime/server/start-server.ts";
import { AdminListenError } from "../../runtime/admin/admin-server.ts";
import { DEFAULT_ADMIN_ADDR } from "../admin-url.ts";
import { UserError } from "../user-error.ts";
import { readPem, type TlsFlags, tlsIdentity } from "../tls-flags.ts";
import { DEFAULT_STATE_DIR } from "../../runtime/stores/kv-database.ts";
import { buildBeforeServing, watchProject } from "../project/watch.ts";

interface ServeFlags extends TlsFlags {
  file?: string;
  addr: string;
  config?: string;
  workers?: string;
  originCa?: string;
  localPushpinProxyPort?: string;
  memoryMib?: string;
  cpuMs?: string;
  wallMs?: string;
  unknownImports: "error" | "trap";
  quiet?: boolean;
  adminAddr: string;
  adminToken?: string;
  cacheDir?: string;
  cacheMib: string;
  clientIpHeader: boolean;
  stateDir?: string;
  watch?: boolean;
  origin?: string;
  overrideHost?: string;
}


export function serveCommand(): Command {
  return new Command("serve")
    .description("serve a Compute app (bin/main.wasm and fastly.toml) on a local address, or cache an origin with --origin")
    .argument("[dir]", "project directory", ".")
    .option("--file <path>", "Wasm module to run (default: DIR/bin/main.wasm)")
    .option("--addr <host:port>", "address to listen on", "127.0.0.1:7676")
    .option("--config <path>", "manifest with [local_server] (default: DIR/fastly.toml)")
    .option("--workers <n>", "guest worker threads (default: one per core)")
    .option("--memory-mib <n>", "linear-memory limit per request", String(DEFAULT_LIMITS.memoryBytes / 2 ** 20))
    .option("--cpu-ms <n>", "CPU-time limit per request", String(DEFAULT_LIMITS.cpuMs))
    .option("--wall-ms <n>", "wall-time limit per request", String(DEFAULT_LIMITS.wallMs))
    .addOption(
      new Option("--unknown-imports <policy>", "what to do with imports the host does not provide")
        .choices(["error", "trap"])
        .default("error"),
    )
    .option("--origin <url>", "run no app: the no-code caching service, a caching reverse proxy in front of URL")
    .option("--override-host <host>", "with --origin: the Host header the origin receives (default: the origin URL's host)")
    .option("--watch", "build first, then rebuild on source changes and serve each new build without restarting")
    .option("--quiet", "do not log each request")
    .option("--origin-ca <file>", "with --origin: trust this CA (PEM) for an https origin, besides the system's")
    .option("--tls-cert <file>", "serve HTTPS with this certificate chain (PEM); needs --tls-key")
    .option("--tls-key <file>", "the private key of --tls-cert (PEM)")
    .option("--tls-client-ca <file>", "ask HTTPS clients for a certificate and check it against these CAs (PEM); guests see the verdict")
    .option("--local-pushpin-proxy-port <port>", "port of a Pushpin on this machine, for Fanout handoffs (redirect_to_grip_proxy)")
    .option("--no-client-ip-header", "ignore the local-testing fields X-Outpost-Client-IP (the client address guests see) and X-Fastly-Bot-* (what bot detection says)")
    // The cache and its admin API.
    .option("--cache-mib <n>", "memory budget of the HTTP cache", String(DEFAULT_CACHE_BYTES / 2 ** 20))
    .option("--cache-dir <dir>", "keep the HTTP cache in DIR across restarts")
    .option("--state-dir <dir|off>", `keep the KV stores in DIR across restarts (default: DIR/${DEFAULT_STATE_DIR}), or off to keep them in memory`)
    .option("--admin-addr <host:port|off>", "address of the admin API (purge, /metrics, /health), or off", DEFAULT_ADMIN_ADDR)
    .addOption(new Option("--admin-token <token>", "token the admin API and PURGE requests require as Fastly-Key").env("OUTPOST_ADMIN_TOKEN"))
    .action(async (dir: string, flags: ServeFlags, command: Command) => {
      if (flags.origin !== undefined) return serveOrigin(flags, command);
      if (flags.overrideHost !== undefined) throw new UserError("--override-host applies only with --origin (a Compute app's backends take override_host in fastly.toml)");
      if (flags.originCa !== undefined) throw new UserError("--origin-ca applies only with --origin (a Compute app's backends take ca_certificate in fastly.toml)");
      // Every flag is checked before anything is read or logged.
      const { host, port } = parseAddr(flags.addr);
      if (flags.adminToken === "") throw new UserError("--admin-token must not be empty");
      const workers = positive(flags.workers, "--workers");
      const limits = {
        memoryBytes: positive(flags.memoryMib, "--memory-mib")! * 2 ** 20,
        cpuMs: positive(flags.cpuMs, "--cpu-ms")!,
        wallMs: positive(flags.wallMs, "--wall-ms")!,
      };
      const cacheBytes = positive(flags.cacheMib, "--cache-mib")! * 2 ** 20;
      const tls = tlsIdentity(flags);
      const pushpinPort = positive(flags.localPushpinProxyPort, "--local-pushpin-proxy-port");
      if (pushpinPort !== undefined && pushpinPort > 65535) throw new UserError(`--local-pushpin-proxy-port must be a port number, got "${flags.localPushpinProxyPort}"`);
      const admin = flags.adminAddr === "off" ? undefined : { ...parseAddr(flags.adminAddr, "--admin-addr"), optional: command.getOptionValueSource("adminAddr") === "default" };
      const root = resolve(dir);
      if (!existsSync(root) || !statSync(root).isDirectory()) throw new UserError(`${dir}: no such directory`);
      const configPath = flags.config ? resolve(flags.config) : resolve(root, "fastly.toml");
      const manifest = flags.config || existsSync(configPath) ? readManifest(configPath) : emptyManifest(root);
      const logger = consoleLogger({ quiet: flags.quiet });
      if (!manifest.path) logger.warn(`no fastly.toml in ${root}: serving with no backends`);
      const wasm = resolve(flags.file ?? resolve(root, "bin/main.wasm"));
      if (flags.watch) await buildBeforeServing(root, wasm, logger);
      const cacheDir = flags.cacheDir ? cacheDirectory(flags.cacheDir) : undefined;
      const server = await startServer({
        wasm,
        manifest,
        host,
        port,
        workers,
        limits,
        unknownImports: flags.unknownImports,
        logger,
        cacheBytes,
        cacheDir,
        admin,
        adminToken: flags.adminToken,
        clientIpHeader: flags.clientIpHeader,
        pushpinPort,
        tls,
        stateDir: flags.stateDir === "off" ? undefined : flags.stateDir ? resolve(flags.stateDir) : resolve(root, DEFAULT_STATE_DIR),
      }).catch((error: NodeJS.ErrnoException) => listenFailed(error, flags));
      const backends = manifest.backends.map((b) => `${b.name} -> ${b.url.href}`).join(", ") || "none";
      if (server.admin) logger.info(`admin API (purge, /metrics, /health) at ${server.admin.url}`);
      logger.info(`Outpost serving ${wasm} on ${server.url} (${server.runtime.workerCount} workers; backends: ${backends})`);
      const watcher = flags.watch
        ? watchProject({ root, wasm, runtime: server.runtime, memoryBytes: limits.memoryBytes, unknownImports: flags.unknownImports, logger })
        : null;
      const stop = () => {
        logger.info("shutting down");
        void Promise.resolve(watcher?.close())
          .then(() => server.close())
          .then(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}

/** Flags that concern the guest, and have no meaning for the no-code caching service. */
const GUEST_ONLY_FLAGS: [key: string, flag: string][] = [
  ["file", "--file"],
  ["watch", "--watch"],
  ["config", "--config"],
  ["workers", "--workers"],
  ["memoryMib", "--memory-mib"],
  ["cpuMs", "--cpu-ms"],
  ["wallMs", "--wall-ms"],
  ["unknownImports", "--unknown-imports"],
  ["stateDir", "--state-dir"],
  ["clientIpHeader", "--no-client-ip-header"],
  ["localPushpinProxyPort", "--local-pushpin-proxy-port"],
];

/** `outpost serve --origin URL`: the no-code caching service, no Wasm and no workers. */
async function serveOrigin(flags: ServeFlags, command: Command): Promise<void> {
  for (const [key, flag] of GUEST_ONLY_FLAGS) {
    if (command.getOptionValueSource(key) === "cli") {
      throw new UserError(`${flag} does not apply with --origin: the caching service runs no Wasm app (drop one or the other)`);
    }
  }
  if (command.args.length > 0) throw new UserError(`a project directory (${command.args[0]}) does not apply with --origin: the caching service runs no Wasm app`);
  if (flags.origin === "") throw new UserError("--origin must be a URL (for example --origin http://127.0.0.1:8080)");
  if (flags.overrideHost === "") throw new UserError("--override-host must not be empty");
  const { host, port } = parseAddr(flags.addr);
  const tls = tlsIdentity(flags);
  const originCa = flags.originCa === undefined ? undefined : readPem(flags.originCa, "--origin-ca");
  const logger = consoleLogger({ quiet: flags.quiet });
  const admin = flags.adminAddr === "off" ? undefined : { ...parseAddr(flags.adminAddr, "--admin-addr"), optional: command.getOptionValueSource("adminAddr") === "default" };
  const cacheDir = flags.cacheDir ? cacheDirectory(flags.cacheDir) : undefined;
  if (flags.adminToken === "") throw new UserError("--admin-token must not be empty");
  const server = await startServer({
    origin: flags.origin!,
    overrideHost: flags.overrideHost,
    originCa,
    quiet: flags.quiet,
    host,
    port,
    logger,
    cacheBytes: positive(flags.cacheMib, "--cache-mib")! * 2 ** 20,
    cacheDir,
    admin,
    adminToken: flags.adminToken,
    tls,
  }).catch((error: NodeJS.ErrnoException) => listenFailed(error, flags));
  if (server.admin) logger.info(`admin API (purge, /metrics, /health) at ${server.admin.url}`);
  logger.info(`Outpost caching ${server.origin.href} on ${server.url} (no guest; Host: ${flags.overrideHost ?? server.origin.host})`);
  const stop = () => {
    logger.info("shutting down");
    void server.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/** The clear message for a server that could not listen. */
function listenFailed(error: NodeJS.ErrnoException, flags: ServeFlags): never {
  if (error instanceof AdminListenError) {
    if (error.code === "EADDRINUSE") throw new UserError(`--admin-addr ${error.address} is already in use; pick another or turn it off with --admin-addr off`);
    throw new UserError(error.message);
  }
  if (error.code === "EADDRINUSE") throw new UserError(`${flags.addr} is already in use; pick another with --addr`);
  if (error.code === "EACCES") throw new UserError(`not allowed to listen on ${flags.addr}`);
  throw error;
}

export function parseAddr(addr: string, flag = "--addr"): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(addr);
  const port = match ? Number(match[3]) : NaN;
  const example = flag === "--addr" ? "127.0.0.1:7676" : "127.0.0.1:7677";
  if (!match || port > 65535) throw new UserError(`${flag} must be host:port (for example ${example}), got "${addr}"`);
  return { host: match[1] ?? match[2], port };
}

/** The --cache-dir directory, created if need be. */
function cacheDirectory(dir: string): string {
  const path = resolve(dir);
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    throw new UserError(`--cache-dir ${dir}: cannot create it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!statSync(path).isDirectory()) throw new UserError(`--cache-dir ${dir}: not a directory`);
  return path;
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`${flag} must be a positive whole number, got "${value}"`);
  return n;
}
