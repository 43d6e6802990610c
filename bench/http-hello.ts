// HTTP throughput and latency of a hello-world answer: bare node:http, then
// Outpost serving the WAT hello, then Outpost serving a js-compute hello.
// Each server runs in a child process; autocannon (this process) drives each
// with the same settings, after a warm-up whose numbers are discarded.
//
//   node bench/http-hello.ts [--duration=10] [--warmup=2] [--connections=50]
import { parseArgs } from "node:util";
import {
  autocannonLoad,
  checkHello,
  fmt,
  jsHello,
  machine,
  markdownTable,
  ratio,
  requireNode24,
  startServerProcess,
  summarize,
  watHello,
  writeResult,
} from "./lib.ts";

export interface HttpOptions {
  duration: number;
  warmup: number;
  connections: number;
}

export const DEFAULT_HTTP: HttpOptions = { duration: 10, warmup: 2, connections: 50 };

export interface HttpTargetResult {
  target: string;
  /** Completed 2xx responses per second over the measured run. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

interface Target {
  name: string;
  args: () => Promise<string[]>;
}

const TARGETS: Target[] = [
  { name: "node:http (baseline)", args: async () => ["node"] },
  { name: "Outpost, WAT hello", args: async () => ["outpost", await watHello()] },
  { name: "Outpost, js-compute hello", args: async () => ["outpost", await jsHello()] },
];

async function measure(target: Target, options: HttpOptions): Promise<HttpTargetResult> {
  const server = await startServerProcess(await target.args());
  try {
    await checkHello(server.url);
    if (options.warmup > 0) await autocannonLoad({ url: server.url, connections: options.connections, duration: options.warmup });
    const latencies: number[] = [];
    const result = await autocannonLoad({ url: server.url, connections: options.connections, duration: options.duration }, latencies);
    const stats = summarize(latencies);
    return {
      target: target.name,
      rps: stats.n / result.duration,
      p50Ms: stats.median,
      p99Ms: stats.p99,
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
    };
  } finally {
    await server.stop();
  }
}

export async function runHttpHello(options: HttpOptions = DEFAULT_HTTP) {
  const results: HttpTargetResult[] = [];
  for (const target of TARGETS) {
    process.stderr.write(`http-hello: ${target.name}: ${options.warmup} s warm-up + ${options.duration} s × ${options.connections} connections\n`);
    results.push(await measure(target, options));
  }
  const base = results[0];
  const table = markdownTable(
    ["server", "req/s", "× node", "p50 ms", "× node", "p99 ms", "× node", "failed"],
    results.map((r) => [
      r.target,
      fmt(r.rps),
      ratio(r.rps, base.rps),
      fmt(r.p50Ms, 2),
      ratio(r.p50Ms, base.p50Ms),
      fmt(r.p99Ms, 2),
      ratio(r.p99Ms, base.p99Ms),
      String(r.non2xx + r.errors + r.timeouts),
    ]),
  );
  const data = {
    benchmark: "http-hello",
    ...machine(),
    settings: { ...options, loadGenerator: "autocannon (in the parent process)", serverWorkers: "default (one per core)" },
    results: results.map((r) => ({
      ...r,
      rpsRatio: r.rps / base.rps,
      p50Ratio: r.p50Ms / base.p50Ms,
      p99Ratio: r.p99Ms / base.p99Ms,
    })),
  };
  const path = writeResult("http-hello", data);
  return { table, data, path };
}

if (import.meta.main) {
  requireNode24();
  const { values } = parseArgs({
    options: { duration: { type: "string" }, warmup: { type: "string" }, connections: { type: "string" } },
  });
  const options: HttpOptions = {
    duration: Number(values.duration ?? DEFAULT_HTTP.duration),
    warmup: Number(values.warmup ?? DEFAULT_HTTP.warmup),
    connections: Number(values.connections ?? DEFAULT_HTTP.connections),
  };
  const { table, path } = await runHttpHello(options);
  console.log(table);
  console.log(`\n(${path})`);
}
