// `npm run bench`: one command for every benchmark. It runs the peer
// comparison (bench/peers.ts: Outpost against bare node:http, hono, workerd,
// Varnish and nginx, all on loopback, ratios to node:http in the same run)
// and the other benchmarks (instantiate, collapsing, purge, sizes), prints
// their Markdown tables, and writes the report to bench/results/report.md,
// report.json and report.svg (with each benchmark's own JSON beside them).
// The whole run is bounded: past --time-limit-s it is stopped, and the child
// processes (servers, Varnish, nginx, workerd, the purge benchmark) are
// killed however the run ends.
//
//   npm run bench [-- --quick
//                     --duration=10 --warmup=2 --connections=50 --peer-rounds=2
//                     --budget-ms=2500 --clients=1000 --rounds=5 --purge-budget-ms=1500
//                     --cache-rounds=2 --time-limit-s=900
//                     --only=peers,instantiate,collapsing,purge,sizes,http-hello,cache-hit]
import { execFile } from "node:child_process";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { DEFAULT_CACHE_HIT, runCacheHit } from "./cache-hit.ts";
import { DEFAULT_COLLAPSING, runCollapsing } from "./collapsing.ts";
import { DEFAULT_HTTP, runHttpHello } from "./http-hello.ts";
import { DEFAULT_INSTANTIATE, runInstantiate } from "./instantiate.ts";
import { cacheProxy, jsHello, machine, requireNode24, RESULTS, ROOT, watHello } from "./lib.ts";
import { peersOptions, runPeers } from "./peers.ts";
import { DEFAULT_PURGE, runPurge } from "./purge.ts";
import { type PeerReport, peersTable, type ReportSection, skippedContenders, writeReport } from "./report.ts";

/** Run by default, in this order. */
const DEFAULT = ["peers", "instantiate", "collapsing", "purge", "sizes"];
/** Older benchmarks that the peer comparison covers; run them with --only. */
const EXTRA = ["http-hello", "cache-hit"];
const BENCHMARKS = [...DEFAULT, ...EXTRA];
/** --quick: short turns and budgets, for checking that everything starts (the numbers are noisier). */
const QUICK = { duration: 2, warmup: 0.5, budgetMs: 500, clients: 300, rounds: 2, purgeBudgetMs: 300, cacheRounds: 1, timeLimitS: 600 };

requireNode24();
const { values } = parseArgs({
  options: {
    quick: { type: "boolean" },
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    "peer-rounds": { type: "string" },
    "budget-ms": { type: "string" },
    "cache-rounds": { type: "string" },
    clients: { type: "string" },
    rounds: { type: "string" },
    "purge-budget-ms": { type: "string" },
    "time-limit-s": { type: "string" },
    only: { type: "string" },
  },
});
const quick = values.quick ?? false;
const only = values.only ? values.only.split(",").map((name) => name.trim()) : DEFAULT;
for (const name of only) {
  if (!BENCHMARKS.includes(name)) throw new Error(`--only: unknown benchmark ${name} (known: ${BENCHMARKS.join(", ")})`);
}
const selected = (name: string) => only.includes(name);
/** A number option: given, else the quick value with --quick, else the default. */
const option = (value: string | undefined, quickValue: number, defaultValue: number) => Number(value ?? (quick ? quickValue : defaultValue));

const timeLimitS = option(values["time-limit-s"], QUICK.timeLimitS, 900);
const limit = setTimeout(() => {
  console.error(`bench: stopped after ${timeLimitS} s (--time-limit-s)`);
  process.exit(1); // the exit handler in lib.ts kills the children
}, timeLimitS * 1000);
limit.unref();

const started = performance.now();
const info = machine();
console.error(`bench: ${info.date}, Node ${info.node}, ${info.cores} cores (${info.cpu}), load ${info.load1}${quick ? ", quick mode" : ""}`);
if (info.load1 > info.cores / 2) console.error(`bench: warning: the machine is busy (load ${info.load1}); the numbers will be noisy`);
// Build the guests first, so that a slow first js-compute build is not timed
// (the peer comparison builds and installs its own before it times anything).
if (selected("http-hello") || selected("instantiate")) {
  await watHello();
  await jsHello();
}
if (selected("cache-hit") || selected("collapsing")) await cacheProxy();

const paths: string[] = [];
const failures: string[] = [];
const notes = new Set<string>();
const sections: ReportSection[] = [];
let peers: PeerReport | null = null;

/** Prints a benchmark's tables and keeps them for the report. */
function section(name: string, title: string, markdown: string): void {
  console.log(`## ${title}\n\n${markdown}\n`);
  sections.push({ name, title, markdown });
}

const http = {
  duration: option(values.duration, QUICK.duration, DEFAULT_HTTP.duration),
  warmup: option(values.warmup, QUICK.warmup, DEFAULT_HTTP.warmup),
  connections: option(values.connections, DEFAULT_HTTP.connections, DEFAULT_HTTP.connections),
};

if (selected("peers")) {
  peers = await runPeers(peersOptions({ quick, duration: values.duration, warmup: values.warmup, connections: values.connections, rounds: values["peer-rounds"] }));
  const s = peers.settings;
  console.log(`## Against the peers (${s.warmup} s warm-up + ${s.duration} s × ${s.connections} connections per row, ${s.rounds} interleaved rounds; × node: to node:http in the same run)\n`);
  console.log(`${peersTable(peers)}\n`);
  for (const skip of skippedContenders(peers)) console.log(`skipped: ${skip.name} (${skip.groups.join("; ")}): ${skip.note}\n`);
  failures.push(...peers.failures.map((f) => `peers: ${f}`));
}
if (selected("instantiate")) {
  const result = await runInstantiate({ budgetMs: option(values["budget-ms"], QUICK.budgetMs, DEFAULT_INSTANTIATE.budgetMs) });
  section("instantiate", "instantiate (µs per request)", result.table);
  paths.push(result.path);
}
if (selected("collapsing")) {
  const options = {
    clients: option(values.clients, QUICK.clients, DEFAULT_COLLAPSING.clients),
    rounds: option(values.rounds, QUICK.rounds, DEFAULT_COLLAPSING.rounds),
    slowMs: DEFAULT_COLLAPSING.slowMs,
  };
  const result = await runCollapsing(options);
  section(
    "collapsing",
    `collapsing (${options.clients} concurrent requests for one uncached URL; the origin streams 10 KiB over ${options.slowMs} ms)`,
    result.table,
  );
  result.notes.forEach((note) => notes.add(note));
  failures.push(...result.failures.map((f) => `collapsing: ${f}`));
  paths.push(result.path);
}
if (selected("purge")) {
  const result = await runPurge({ budgetMs: option(values["purge-budget-ms"], QUICK.purgeBudgetMs, DEFAULT_PURGE.budgetMs) });
  section("purge", "purge by surrogate key (µs per purge, CacheStore alone)", `${result.table}\n\n${result.memoryTable}`);
  paths.push(result.path);
}
if (selected("sizes")) {
  // bench/sizes.ts is a script of its own (it builds every SDK's hello with `outpost build`): run it and keep its table.
  const sizes = await promisify(execFile)(process.execPath, [join(ROOT, "bench/sizes.ts")], { cwd: ROOT, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }).then(
    (out) => ({ ok: true, stdout: out.stdout, stderr: out.stderr }),
    (error: Error & { stdout?: string; stderr?: string }) => ({ ok: false, stdout: error.stdout ?? "", stderr: error.stderr ?? error.message }),
  );
  section("sizes", "Wasm sizes of the hello examples", sizes.stdout.replace(/^## .*\n+/, "").trim() || "(no output)");
  if (!sizes.ok) failures.push(`sizes: a module is over its target or a build failed:\n${sizes.stderr.trim().split("\n").slice(-5).join("\n")}`);
  paths.push(join(RESULTS, "sizes.json"));
}
if (selected("http-hello")) {
  const result = await runHttpHello(http);
  const s = result.data.settings;
  section("http-hello", `http-hello (${s.warmup} s warm-up, ${s.duration} s × ${s.connections} connections, autocannon)`, result.table);
  paths.push(result.path);
}
if (selected("cache-hit")) {
  const result = await runCacheHit({
    duration: option(values.duration, QUICK.duration, DEFAULT_CACHE_HIT.duration),
    warmup: option(values.warmup, QUICK.warmup, DEFAULT_CACHE_HIT.warmup),
    connections: http.connections,
    rounds: option(values["cache-rounds"], QUICK.cacheRounds, DEFAULT_CACHE_HIT.rounds),
  });
  const s = result.data.settings;
  section(
    "cache-hit",
    `cache-hit (${s.warmup} s warm-up, ${s.duration} s × ${s.connections} connections in ${s.rounds} interleaved rounds, autocannon; × node: to node:http serving the same body)`,
    result.table,
  );
  result.notes.forEach((note) => notes.add(note));
  failures.push(...result.failures.map((f) => `cache-hit: ${f}`));
  paths.push(result.path);
}

for (const note of notes) console.log(`${note}\n`);
for (const failure of failures) console.log(`FAILED CHECK: ${failure}\n`);
const seconds = (performance.now() - started) / 1000;
const end = machine();
console.log(`${info.date} · Node ${info.node} · ${info.cores} cores · ${info.cpu} · load ${info.load1} at start, ${end.load1} at end · ${seconds.toFixed(0)} s`);
if (peers) {
  // The report: the peer comparison, with the other benchmarks of this run after it.
  peers.load.end = end.load1;
  peers.seconds = seconds;
  peers.sections = sections;
  peers.notes.push(...notes);
  peers.failures = failures;
  const report = writeReport(peers, RESULTS);
  paths.unshift(report.md, report.json, report.svg);
}
console.log(`results: ${paths.join(", ")}`);
if (failures.length > 0) process.exitCode = 1;
