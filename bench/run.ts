// `npm run bench`: builds the guests, runs every benchmark, prints a summary.
// The whole run is bounded: past TIME_LIMIT_MS it is stopped, and the child
// processes (servers, Varnish, the purge benchmark) are killed however the
// run ends.
//
//   npm run bench [-- --duration=10 --warmup=2 --connections=50 --budget-ms=2500
//                     --cache-rounds=2 --clients=1000 --rounds=5 --purge-budget-ms=1500
//                     --only=http-hello,instantiate,cache-hit,collapsing,purge]
import { parseArgs } from "node:util";
import { DEFAULT_CACHE_HIT, runCacheHit } from "./cache-hit.ts";
import { DEFAULT_COLLAPSING, runCollapsing } from "./collapsing.ts";
import { DEFAULT_HTTP, runHttpHello } from "./http-hello.ts";
import { DEFAULT_INSTANTIATE, runInstantiate } from "./instantiate.ts";
import { cacheProxy, jsHello, machine, requireNode24, watHello } from "./lib.ts";
import { DEFAULT_PURGE, runPurge } from "./purge.ts";

const TIME_LIMIT_MS = 8 * 60_000;
const BENCHMARKS = ["http-hello", "instantiate", "cache-hit", "collapsing", "purge"];

requireNode24();
const { values } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    "budget-ms": { type: "string" },
    "cache-rounds": { type: "string" },
    clients: { type: "string" },
    rounds: { type: "string" },
    "purge-budget-ms": { type: "string" },
    only: { type: "string" },
  },
});
const only = values.only ? values.only.split(",").map((name) => name.trim()) : BENCHMARKS;
for (const name of only) {
  if (!BENCHMARKS.includes(name)) throw new Error(`--only: unknown benchmark ${name} (known: ${BENCHMARKS.join(", ")})`);
}
const selected = (name: string) => only.includes(name);

const limit = setTimeout(() => {
  console.error(`bench: stopped after ${TIME_LIMIT_MS / 1000} s`);
  process.exit(1); // the exit handler in lib.ts kills the children
}, TIME_LIMIT_MS);
limit.unref();

const started = performance.now();
const info = machine();
console.error(`bench: ${info.date}, Node ${info.node}, ${info.cores} cores (${info.cpu}), load ${info.load1}`);
if (info.load1 > info.cores / 2) console.error(`bench: warning: the machine is busy (load ${info.load1}); the numbers will be noisy`);
// Build the guests first, so that a slow first js-compute build is not timed.
if (selected("http-hello") || selected("instantiate")) {
  await watHello();
  await jsHello();
}
if (selected("cache-hit") || selected("collapsing")) await cacheProxy();

const http = { duration: values.duration, warmup: values.warmup, connections: values.connections };
const paths: string[] = [];
const failures: string[] = [];
const notes = new Set<string>();

if (selected("http-hello")) {
  const result = await runHttpHello({
    duration: Number(http.duration ?? DEFAULT_HTTP.duration),
    warmup: Number(http.warmup ?? DEFAULT_HTTP.warmup),
    connections: Number(http.connections ?? DEFAULT_HTTP.connections),
  });
  const s = result.data.settings;
  console.log(`## http-hello (${s.warmup} s warm-up, ${s.duration} s × ${s.connections} connections, autocannon)\n`);
  console.log(`${result.table}\n`);
  paths.push(result.path);
}
if (selected("instantiate")) {
  const result = await runInstantiate({ budgetMs: Number(values["budget-ms"] ?? DEFAULT_INSTANTIATE.budgetMs) });
  console.log(`## instantiate (µs per request)\n`);
  console.log(`${result.table}\n`);
  paths.push(result.path);
}
if (selected("cache-hit")) {
  const result = await runCacheHit({
    duration: Number(http.duration ?? DEFAULT_CACHE_HIT.duration),
    warmup: Number(http.warmup ?? DEFAULT_CACHE_HIT.warmup),
    connections: Number(http.connections ?? DEFAULT_CACHE_HIT.connections),
    rounds: Number(values["cache-rounds"] ?? DEFAULT_CACHE_HIT.rounds),
  });
  const s = result.data.settings;
  console.log(
    `## cache-hit (${s.warmup} s warm-up, ${s.duration} s × ${s.connections} connections in ${s.rounds} interleaved rounds, autocannon; × node: to node:http serving the same body)\n`,
  );
  console.log(`${result.table}\n`);
  result.notes.forEach((note) => notes.add(note));
  failures.push(...result.failures.map((f) => `cache-hit: ${f}`));
  paths.push(result.path);
}
if (selected("collapsing")) {
  const options = {
    clients: Number(values.clients ?? DEFAULT_COLLAPSING.clients),
    rounds: Number(values.rounds ?? DEFAULT_COLLAPSING.rounds),
    slowMs: DEFAULT_COLLAPSING.slowMs,
  };
  const result = await runCollapsing(options);
  console.log(`## collapsing (${options.clients} concurrent requests for one uncached URL; the origin streams 10 KiB over ${options.slowMs} ms)\n`);
  console.log(`${result.table}\n`);
  result.notes.forEach((note) => notes.add(note));
  failures.push(...result.failures.map((f) => `collapsing: ${f}`));
  paths.push(result.path);
}
if (selected("purge")) {
  const result = await runPurge({ budgetMs: Number(values["purge-budget-ms"] ?? DEFAULT_PURGE.budgetMs) });
  console.log(`## purge by surrogate key (µs per purge, CacheStore alone)\n`);
  console.log(`${result.table}\n`);
  console.log(`${result.memoryTable}\n`);
  paths.push(result.path);
}

for (const note of notes) console.log(`${note}\n`);
for (const failure of failures) console.log(`FAILED CHECK: ${failure}\n`);
console.log(`${info.date} · Node ${info.node} · ${info.cores} cores · ${info.cpu} · load ${info.load1} at start · ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log(`results: ${paths.join(", ")}`);
if (failures.length > 0) process.exitCode = 1;
