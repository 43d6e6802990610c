// Per-request cost of a fresh instance, in microseconds, for the WAT hello
// and the js-compute hello, measured in layers:
//
//   instance   a new memory and `new WebAssembly.Instance(module, stubImports)`:
//              V8 alone, without Outpost's memory pool
//   pooled     the same with a pooled memory reset to the initial image
//   bind       Outpost's per-request set-up: a Session and an instance from GuestInstances
//              (a reused instance reset in place when the module allows)
//   run        + the guest's `_start` run to completion through JSPI, as a
//              worker runs it, with a stub link to the main thread
//   request    one HTTP GET through Outpost with one worker (child process),
//              one keep-alive connection, one request at a time, alternating
//              with the same GET to a bare node:http server; reported with
//              the node:http time subtracted
//
// The first three run each in a fresh worker thread (bench/instantiate-layer.ts).
// Medians of many runs, with means: the mean carries the amortised garbage
// collection of the instances' memories, which sustained load pays.
//
//   node bench/instantiate.ts [--budget-ms=2500]
import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import type { Layer, LayerJob, LayerResult } from "./instantiate-layer.ts";
import {
  checkHello,
  EXPECTED_BODY,
  fmt,
  jsHello,
  machine,
  markdownTable,
  requireNode24,
  type ServerProcess,
  startServerProcess,
  type Summary,
  summarize,
  watHello,
  writeResult,
} from "./lib.ts";

export interface InstantiateOptions {
  /** Time spent on each measurement (after its warm-up), in ms. */
  budgetMs: number;
}

export const DEFAULT_INSTANTIATE: InstantiateOptions = { budgetMs: 2_500 };

const LAYERS: Layer[] = ["instance", "pooled", "bind", "run"];

/** Runs one in-process layer in a worker thread of its own. */
function layer(job: LayerJob): Promise<Extract<LayerResult, { ok: true }>> {
  const worker = new Worker(new URL("./instantiate-layer.ts", import.meta.url), { workerData: job });
  const timeoutMs = job.budgetMs + 30_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`instantiate: layer ${job.layer} of ${job.wasm} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    worker.once("message", (result: LayerResult) => {
      clearTimeout(timer);
      void worker.terminate();
      if (result.ok) resolve(result);
      else reject(new Error(`instantiate: layer ${job.layer} of ${job.wasm}: ${result.error}`));
    });
    worker.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    worker.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`instantiate: the thread for layer ${job.layer} exited (${code}) without a result`));
    });
  });
}

/**
 * Sequential GETs, one keep-alive connection per server, to a bare node:http
 * server and to Outpost with one worker, alternating between the two so that
 * both see the same machine. Returns [node:http, Outpost] times in µs.
 */
async function sequential(wasm: string, budgetMs: number): Promise<[bare: Summary, outpost: Summary]> {
  const servers: ServerProcess[] = [];
  const agents: Agent[] = [];
  try {
    servers.push(await startServerProcess(["node"]), await startServerProcess(["outpost", wasm, "1"]));
    for (const server of servers) await checkHello(server.url);
    const gets = servers.map((server) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      return () =>
        new Promise<void>((resolve, reject) => {
          request(server.url, { agent }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (body += chunk));
            res.on("end", () =>
              res.statusCode === 200 && body === EXPECTED_BODY ? resolve() : reject(new Error(`${server.url} answered ${res.statusCode}`)),
            );
            res.on("error", reject);
          })
            .on("error", reject)
            .end();
        });
    });
    const times: number[][] = [[], []];
    for (let i = 0; i < 50; i++) for (const get of gets) await get();
    const end = performance.now() + 2 * budgetMs;
    while (times[0].length < 10 || performance.now() < end) {
      for (let i = 0; i < gets.length; i++) {
        const t0 = performance.now();
        await gets[i]();
        times[i].push((performance.now() - t0) * 1_000);
      }
    }
    return [summarize(times[0]), summarize(times[1])];
  } finally {
    for (const agent of agents) agent.destroy();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

export async function runInstantiate(options: InstantiateOptions = DEFAULT_INSTANTIATE) {
  const guests = [
    { name: "WAT hello", path: await watHello() },
    { name: "js-compute hello", path: await jsHello() },
  ];
  const results = [];
  for (const guest of guests) {
    process.stderr.write(`instantiate: ${guest.name}\n`);
    const layers: Partial<Record<Layer, Summary>> = {};
    let meta = { imports: 0, bytes: 0 };
    for (const name of LAYERS) {
      const result = await layer({ layer: name, wasm: guest.path, budgetMs: options.budgetMs });
      layers[name] = result.summary;
      meta = { imports: result.imports, bytes: result.bytes };
    }
    const [bare, outpost] = await sequential(guest.path, options.budgetMs);
    results.push({
      guest: guest.name,
      ...meta,
      instance: layers.instance!,
      pooled: layers.pooled!,
      bind: layers.bind!,
      run: layers.run!,
      request: outpost,
      bareRequest: bare,
      overhead: { median: outpost.median - bare.median, mean: outpost.mean - bare.mean },
    });
  }
  const num = (v: number) => fmt(v, Math.abs(v) < 100 ? 1 : 0);
  const cell = (s: { median: number; mean: number }) => `${num(s.median)} (${num(s.mean)})`;
  const table = markdownTable(
    ["guest", "instance (no pool)", "pooled", "+ bind", "+ run", "request − node:http", "request", "node:http request"],
    results.map((r) => [
      `${r.guest} (${fmt(r.bytes / 1024)} KiB, ${r.imports} imports)`,
      cell(r.instance),
      cell(r.pooled),
      cell(r.bind),
      cell(r.run),
      cell(r.overhead),
      cell(r.request),
      cell(r.bareRequest),
    ]),
  );
  const note = "µs: median (mean) of many runs; the mean includes the amortised garbage collection of instances";
  const data = { benchmark: "instantiate", ...machine(), settings: options, unit: "µs", results };
  const path = writeResult("instantiate", data);
  return { table: `${table}\n\n${note}`, data, path };
}

if (import.meta.main) {
  requireNode24();
  const { values } = parseArgs({ options: { "budget-ms": { type: "string" } } });
  const { table, path } = await runInstantiate({ budgetMs: Number(values["budget-ms"] ?? DEFAULT_INSTANTIATE.budgetMs) });
  console.log(table);
  console.log(`\n(${path})`);
}
