// `npm run bench`: builds the guests, runs every benchmark, prints a summary.
// The whole run is bounded: past TIME_LIMIT_MS it is stopped, and the server
// child processes are killed however the run ends.
//
//   npm run bench [-- --duration=10 --warmup=2 --connections=50 --budget-ms=2500]
import { parseArgs } from "node:util";
import { DEFAULT_HTTP, runHttpHello } from "./http-hello.ts";
import { DEFAULT_INSTANTIATE, runInstantiate } from "./instantiate.ts";
import { jsHello, machine, requireNode24, watHello } from "./lib.ts";

const TIME_LIMIT_MS = 5 * 60_000;

requireNode24();
const { values } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    "budget-ms": { type: "string" },
  },
});

const limit = setTimeout(() => {
  console.error(`bench: stopped after ${TIME_LIMIT_MS / 1000} s`);
  process.exit(1); // the exit handler in lib.ts kills the servers
}, TIME_LIMIT_MS);
limit.unref();

const started = performance.now();
const info = machine();
console.error(`bench: ${info.date}, Node ${info.node}, ${info.cores} cores (${info.cpu}), load ${info.load1}`);
if (info.load1 > info.cores / 2) console.error(`bench: warning: the machine is busy (load ${info.load1}); the numbers will be noisy`);
// Build both guests first, so that a slow first js-compute build is not timed.
await watHello();
await jsHello();

const http = await runHttpHello({
  duration: Number(values.duration ?? DEFAULT_HTTP.duration),
  warmup: Number(values.warmup ?? DEFAULT_HTTP.warmup),
  connections: Number(values.connections ?? DEFAULT_HTTP.connections),
});
const instantiate = await runInstantiate({ budgetMs: Number(values["budget-ms"] ?? DEFAULT_INSTANTIATE.budgetMs) });

const settings = http.data.settings;
console.log(`## http-hello (${settings.warmup} s warm-up, ${settings.duration} s × ${settings.connections} connections, autocannon)\n`);
console.log(http.table);
console.log(`\n## instantiate (µs per request)\n`);
console.log(instantiate.table);
console.log(`\n${info.date} · Node ${info.node} · ${info.cores} cores · ${info.cpu} · load ${info.load1} at start · ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log(`results: ${http.path}, ${instantiate.path}`);
