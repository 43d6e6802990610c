// Shared pieces of the benchmarks: building the guests, starting servers in
// child processes (and always stopping them), and summarising samples.
import autocannon from "autocannon";
import { type ChildProcess, execFile, fork } from "node:child_process";
import { createHash } from "node:crypto";
import type { EventEmitter } from "node:events";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import wabtInit from "wabt";

export const ROOT = resolve(import.meta.dirname, "..");
export const BUILD = join(ROOT, "bench/.build");
export const RESULTS = join(ROOT, "bench/results");
export const EXPECTED_BODY = "Hello from Outpost!\n";

export function requireNode24(): void {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 24) {
    console.error(`the benchmarks need Node 24 (this is ${process.version}): run them with \`npm run bench\``);
    process.exit(1);
  }
}

// ---- guests ----

/** `build(out)` once per `key` (a hash of its inputs): the module is kept in bench/.build/. */
export async function cachedBuild(name: string, key: string, build: (out: string) => Promise<void>): Promise<string> {
  const out = join(BUILD, `${name}-${createHash("sha256").update(key).digest("hex").slice(0, 16)}.wasm`);
  if (existsSync(out)) return out;
  mkdirSync(BUILD, { recursive: true });
  const partial = `${out}.${process.pid}.tmp`;
  await build(partial);
  renameSync(partial, out);
  return out;
}

/** examples/hello (WebAssembly text, raw host calls) compiled with wabt. */
export async function watHello(): Promise<string> {
  const source = join(ROOT, "examples/hello/src/main.wat");
  const text = readFileSync(source, "utf8");
  return cachedBuild("hello-wat", text, async (out) => {
    const wabt = await wabtInit();
    const module = wabt.parseWat(source, text);
    try {
      writeFileSync(out, module.toBinary({}).buffer);
    } finally {
      module.destroy();
    }
  });
}

/** test/fixtures/wat/cache-proxy.wat: a passthrough caching proxy to the backend "origin". */
export async function cacheProxy(): Promise<string> {
  const source = join(ROOT, "test/fixtures/wat/cache-proxy.wat");
  const text = readFileSync(source, "utf8");
  return cachedBuild("cache-proxy-wat", text, async (out) => {
    const wabt = await wabtInit();
    const module = wabt.parseWat(source, text, { multi_value: true, bulk_memory: true });
    try {
      writeFileSync(out, module.toBinary({}).buffer);
    } finally {
      module.destroy();
    }
  });
}

/** bench/guests/hello.js built with @fastly/js-compute (~10 s the first time, then cached). */
export function jsHello(): Promise<string> {
  return jsGuest("hello.js", "hello-js");
}

/** bench/guests/hello-reusable.js: the same, serving many requests per instance (a reusable sandbox). */
export function jsReusableHello(): Promise<string> {
  return jsGuest("hello-reusable.js", "hello-js-reusable");
}

async function jsGuest(file: string, name: string): Promise<string> {
  const source = join(ROOT, "bench/guests", file);
  const tool = join(ROOT, "node_modules/.bin/js-compute-runtime");
  const version = JSON.parse(readFileSync(join(ROOT, "node_modules/@fastly/js-compute/package.json"), "utf8")).version;
  return cachedBuild(name, `${version}\n${readFileSync(source, "utf8")}`, async (out) => {
    process.stderr.write(`building bench/guests/${file} with js-compute (first run only)...\n`);
    await promisify(execFile)(tool, [source, out], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  });
}

/** What one contender's turns (at one body) added up to. */
export interface Tally {
  latencies: number[];
  seconds: number;
  requests: number;
  roundRps: number[];
  non2xx: number;
  errors: number;
  timeouts: number;
  short: number;
  problems: string[];
}

// ---- child processes ----

/** Every child process of the benchmark, with the signal that stops it for good. */
const children = new Map<ChildProcess, NodeJS.Signals>();
let cleanupInstalled = false;

function killAll(): void {
  for (const [child, signal] of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
  children.clear();
}

/** Kills every child on any exit of this process: normal, error, or signal. */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/**
 * Registers a child process to be killed (with `signal`) whenever this process
 * exits; returns a function that stops it (SIGTERM, then `signal` after 2 s).
 */
export function trackChild(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): () => Promise<void> {
  installCleanup();
  children.set(child, signal);
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill(signal), 2_000);
      await exited;
      clearTimeout(timer);
    }
    children.delete(child);
  };
}

export interface ServerProcess {
  url: string;
  /** Sends a question over IPC and resolves with the child's answer (see bench/server.ts). */
  ask<T = unknown>(question: object): Promise<T>;
  stop(): Promise<void>;
}

/** Starts bench/server.ts in a child process and waits for it to listen. */
export function startServerProcess(args: string[], timeoutMs = 30_000): Promise<ServerProcess> {
  const child = fork(join(ROOT, "bench/server.ts"), args, {
    execPath: process.execPath,
    // As `outpost serve` runs (runtime/engine/code-protection.ts).
    execArgv: ["--no-memory-protection-keys"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const stop = trackChild(child);
  let asked = 0;
  const answers = new Map<number, (value: unknown) => void>();
  child.on("message", (message: { id?: number; answer?: unknown }) => {
    if (typeof message.id !== "number") return;
    answers.get(message.id)?.(message.answer);
    answers.delete(message.id);
  });
  const ask = <T>(question: object) =>
    new Promise<T>((resolve, reject) => {
      const id = ++asked;
      answers.set(id, resolve as (value: unknown) => void);
      child.send({ id, ...question }, (error) => error && reject(error));
    });
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      void stop();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`server ${args.join(" ")} did not start in ${timeoutMs} ms`)), timeoutMs);
    child.once("message", (message: { url: string }) => {
      clearTimeout(timer);
      resolve({ url: message.url, ask, stop });
    });
    child.once("exit", (code, signal) => fail(new Error(`server ${args.join(" ")} exited (${signal ?? code}) before listening`)));
    child.once("error", fail);
  });
}

/** A free loopback port (for servers that cannot pick their own and say which, like varnishd). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---- load ----

export interface LoadOptions {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  /** A cap on the requests of the run (it ends at `duration` or there, whichever comes first); none by default. */
  maxOverallRequests?: number;
}

/**
 * Drives a URL with autocannon (no pipelining). When `latencies` is given,
 * the exact time of every 2xx response is pushed to it (autocannon's own
 * histogram has 1 ms resolution); `onResponse` sees every response, with
 * its size in bytes (head and body).
 */
export async function autocannonLoad(
  options: LoadOptions,
  latencies?: number[],
  onResponse?: (status: number, bytes: number, ms: number) => void,
): Promise<autocannon.Result> {
  // Without a callback autocannon returns its event emitter, made thenable (its types say Promise only).
  const run = autocannon({ ...options, pipelining: 1 }) as Promise<autocannon.Result> & EventEmitter;
  if (latencies || onResponse) {
    run.on("response", (_client: unknown, status: number, bytes: number, ms: number) => {
      if (latencies && status >= 200 && status < 300) latencies.push(ms);
      onResponse?.(status, bytes, ms);
    });
  }
  return await run;
}

/**
 * One measured turn added to a tally: every 2xx latency, the requests/s of
 * the turn, failures, and 200s shorter than `bytes` (a truncated body).
 */
export async function measuredTurn(tally: Tally, options: LoadOptions, bytes: number): Promise<void> {
  const before = tally.latencies.length;
  const result = await autocannonLoad(options, tally.latencies, (status, size) => {
    if (status === 200 && size < bytes) tally.short++;
  });
  tally.seconds += result.duration;
  tally.requests += result.requests.total;
  tally.roundRps.push((tally.latencies.length - before) / result.duration);
  tally.non2xx += result.non2xx;
  tally.errors += result.errors;
  tally.timeouts += result.timeouts;
}

/** One GET, checked: the benchmarks must not measure error pages. */
export async function checkHello(url: string): Promise<void> {
  const response = await fetch(url);
  const text = await response.text();
  if (response.status !== 200 || text !== EXPECTED_BODY) {
    throw new Error(`${url} answered ${response.status} ${JSON.stringify(text.slice(0, 200))}, expected 200 ${JSON.stringify(EXPECTED_BODY)}`);
  }
}

// ---- statistics and output ----

export interface Summary {
  n: number;
  median: number;
  mean: number;
  p99: number;
  min: number;
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(samples: number[] | Float64Array): Summary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return { n: sorted.length, median: percentile(sorted, 50), mean: sum / sorted.length, p99: percentile(sorted, 99), min: sorted[0] };
}

export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ratio(value: number, base: number): string {
  const r = value / base;
  if (!Number.isFinite(r)) return "n/a";
  return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

export function machine() {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? "unknown",
    /** 1-minute load average when the benchmark started: other work on the machine skews every number. */
    load1: Number(loadavg()[0].toFixed(2)),
  };
}

export function writeResult(name: string, data: unknown): string {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, `${name}.json`);
  writeFileSync(path, JSON.stringify(data, null, 2) + "\n");
  return path;
}
