// `outpost serve [DIR]`: run a Compute app locally, as `fastly compute serve` does.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { emptyManifest, readManifest } from "../../runtime/config/manifest.ts";
import { consoleLogger } from "../../runtime/server/logger.ts";
import { DEFAULT_LIMITS } from "../../runtime/server/limits.ts";
import { startServer } from "../../runtime/server/start-server.ts";
import { UserError } from "../user-error.ts";

interface ServeFlags {
  file?: string;
  addr: string;
  config?: string;
  workers?: string;
  memoryMib?: string;
  cpuMs?: string;
  wallMs?: string;
  unknownImports: "error" | "trap";
  quiet?: boolean;
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("serve a Compute app (bin/main.wasm and fastly.toml) on a local address")
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
    .option("--quiet", "do not log each request")
    .action(async (dir: string, flags: ServeFlags) => {
      const root = resolve(dir);
      if (!existsSync(root) || !statSync(root).isDirectory()) throw new UserError(`${dir}: no such directory`);
      const configPath = flags.config ? resolve(flags.config) : resolve(root, "fastly.toml");
      const manifest = flags.config || existsSync(configPath) ? readManifest(configPath) : emptyManifest(root);
      const { host, port } = parseAddr(flags.addr);
      const logger = consoleLogger({ quiet: flags.quiet });
      if (!manifest.path) logger.warn(`no fastly.toml in ${root}: serving with no backends`);
      const wasm = resolve(flags.file ?? resolve(root, "bin/main.wasm"));
      const server = await startServer({
        wasm,
        manifest,
        host,
        port,
        workers: positive(flags.workers, "--workers"),
        limits: {
          memoryBytes: positive(flags.memoryMib, "--memory-mib")! * 2 ** 20,
          cpuMs: positive(flags.cpuMs, "--cpu-ms")!,
          wallMs: positive(flags.wallMs, "--wall-ms")!,
        },
        unknownImports: flags.unknownImports,
        logger,
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "EADDRINUSE") throw new UserError(`${flags.addr} is already in use; pick another with --addr`);
        if (error.code === "EACCES") throw new UserError(`not allowed to listen on ${flags.addr}`);
        throw error;
      });
      const backends = manifest.backends.map((b) => `${b.name} -> ${b.url.href}`).join(", ") || "none";
      logger.info(`Outpost serving ${wasm} on ${server.url} (${server.runtime.workerCount} workers; backends: ${backends})`);
      const stop = () => {
        logger.info("shutting down");
        void server.close().then(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}

export function parseAddr(addr: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(addr);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UserError(`--addr must be host:port (for example 127.0.0.1:7676), got "${addr}"`);
  return { host: match[1] ?? match[2], port };
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`${flag} must be a positive whole number, got "${value}"`);
  return n;
}
