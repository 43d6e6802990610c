// Cache hits: throughput and latency of answering from the cache, for a 2 B
// and a 10 KiB body. Outpost runs the passthrough caching proxy guest
// (test/fixtures/wat/cache-proxy.wat) in front of a loopback origin; Varnish
// (when installed) sits in front of the same origin; a bare node:http server
// answering the same bodies itself is the baseline. Each cache is warmed
// first, and after the run the origin must have seen exactly one request per
// URL: anything else means the measured responses were not all hits.
//
// Every server is started first and idles while another is measured. For
// each body the servers take turns, `rounds` times (node, Outpost, Varnish,
// node, Outpost, Varnish, ...), each turn a slice of the duration after a
// slice of the warm-up: on a shared machine the background load drifts, and
// interleaving spreads the drift over every row instead of one.
//
//   node bench/cache-hit.ts [--duration=10] [--warmup=2] [--connections=50] [--rounds=2]
import { parseArgs } from "node:util";
import {
  autocannonLoad,
  cacheProxy,
  fmt,
  machine,
  markdownTable,
  measuredTurn,
  ratio,
  requireNode24,
  startServerProcess,
  summarize,
  type Tally,
  writeResult,
} from "./lib.ts";
import { findVarnishd, startVarnish, VARNISH_MISSING, varnishHit } from "./contenders/varnish.ts";

export interface CacheHitOptions {
  /** Measured seconds per server and body, over all rounds. */
  duration: number;
  /** Warm-up seconds per server and body, over all rounds (discarded). */
  warmup: number;
  connections: number;
  rounds: number;
}

export const DEFAULT_CACHE_HIT: CacheHitOptions = { duration: 10, warmup: 2, connections: 50, rounds: 2 };

/** The origin's bodies (bench/server.ts `origin`), by the last path segment. */
const BODIES = [
  { name: "2 B", segment: "2b", bytes: 2 },
  { name: "10 KiB", segment: "10k", bytes: 10 * 1024 },
];

export interface CacheHitRow {
  server: string;
  body: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** req/s of each round, to show the drift. */
  roundRps: number[];
  /** Non-2xx responses, errors, timeouts, and responses too short to hold the body. */
  failed: number;
  /** Origin requests for the measured URL over the whole test (warm-up included): 1 when every measured response was a hit; null for the baseline. */
  originRequests: number | null;
  problems: string[];
}

interface Contender {
  name: string;
  /** URL prefix, so that each contender's URLs are its own at the origin. */
  prefix: string;
  start(originUrl: string): Promise<{ url: string; stop(): Promise<void> }>;
  /** Whether it is a cache (the baseline is not). */
  cache: boolean;
  /** Whether a response was served from the cache. */
  hit(headers: Headers): boolean;
}

async function contenders(notes: string[]): Promise<Contender[]> {
  const list: Contender[] = [
    { name: "node:http (baseline)", prefix: "node", cache: false, start: () => startServerProcess(["origin"]), hit: () => true },
    {
      name: "Outpost, cache-proxy.wat",
      prefix: "outpost",
      cache: true,
      start: async (originUrl) => startServerProcess(["outpost", await cacheProxy(), "-", `origin=${originUrl}`]),
      hit: (headers) => headers.get("x-cache") === "HIT",
    },
  ];
  const varnishd = findVarnishd();
  if (varnishd) {
    list.push({ name: "Varnish", prefix: "varnish", cache: true, start: (originUrl) => startVarnish(varnishd, originUrl), hit: varnishHit });
  } else {
    notes.push(`${VARNISH_MISSING}: skipped.`);
  }
  return list;
}

/** A GET that must answer 200 with the body's length; returns its headers. */
async function checkedGet(url: string, bytes: number): Promise<Headers> {
  const response = await fetch(url);
  const body = await response.arrayBuffer();
  if (response.status !== 200 || body.byteLength !== bytes) {
    throw new Error(`${url} answered ${response.status} with ${body.byteLength} bytes, expected 200 with ${bytes}`);
  }
  return response.headers;
}


/** Warms the cache for one URL: the first request fills it, the second must be a hit. */
async function warm(contender: Contender, url: string, bytes: number, tally: Tally): Promise<void> {
  await checkedGet(url, bytes);
  if (!contender.hit(await checkedGet(url, bytes))) tally.problems.push("the request after the first was not a hit");
}

/** One turn: a slice of warm-up, then a slice of measured load. */
async function turn(url: string, bytes: number, options: CacheHitOptions, tally: Tally): Promise<void> {
  const warmup = options.warmup / options.rounds;
  const duration = options.duration / options.rounds;
  if (warmup > 0) await autocannonLoad({ url, connections: options.connections, duration: warmup });
  await measuredTurn(tally, { url, connections: options.connections, duration }, bytes);
}

/** After the turns: still a hit, and one origin request in all. */
async function finish(
  contender: Contender,
  body: (typeof BODIES)[number],
  path: string,
  url: string,
  tally: Tally,
  originCounts: () => Promise<Record<string, number>>,
): Promise<CacheHitRow> {
  if (!contender.hit(await checkedGet(url, body.bytes))) tally.problems.push("a request after the run was not a hit");
  const originRequests = contender.cache ? ((await originCounts())[path] ?? 0) : null;
  if (originRequests !== null && originRequests !== 1) tally.problems.push(`the origin saw ${originRequests} requests for ${path}, expected 1`);
  const failed = tally.non2xx + tally.errors + tally.timeouts + tally.short;
  if (failed > 0) {
    tally.problems.push(`${failed} failed responses (${tally.non2xx} non-2xx, ${tally.errors} errors, ${tally.timeouts} timeouts, ${tally.short} short)`);
  }
  for (const problem of tally.problems) process.stderr.write(`cache-hit: ${contender.name}, ${body.name}: FAILED CHECK: ${problem}\n`);
  const stats = summarize(tally.latencies);
  return {
    server: contender.name,
    body: body.name,
    rps: stats.n / tally.seconds,
    p50Ms: stats.median,
    p99Ms: stats.p99,
    requests: tally.requests,
    roundRps: tally.roundRps,
    failed,
    originRequests,
    problems: tally.problems,
  };
}

export async function runCacheHit(options: CacheHitOptions = DEFAULT_CACHE_HIT) {
  const notes: string[] = [];
  const list = await contenders(notes);
  await cacheProxy(); // built before anything is timed
  const origin = await startServerProcess(["origin"]);
  const counts = () => origin.ask<Record<string, number>>({ type: "counts" });
  const rows: CacheHitRow[] = [];
  // Every server is started first (see the top of the file).
  const servers: { url: string; stop(): Promise<void> }[] = [];
  try {
    for (const contender of list) servers.push(await contender.start(origin.url));
    for (const body of BODIES) {
      const paths = list.map((contender) => `/${contender.prefix}/${body.segment}`);
      const urls = list.map((_, i) => servers[i].url + paths[i]);
      const tallies = list.map((): Tally => ({ latencies: [], seconds: 0, requests: 0, roundRps: [], non2xx: 0, errors: 0, timeouts: 0, short: 0, problems: [] }));
      for (const [i, contender] of list.entries()) await warm(contender, urls[i], body.bytes, tallies[i]);
      for (let round = 1; round <= options.rounds; round++) {
        for (const [i, contender] of list.entries()) {
          process.stderr.write(
            `cache-hit: ${body.name}, round ${round}/${options.rounds}: ${contender.name}: ${options.warmup / options.rounds} s warm-up + ${options.duration / options.rounds} s × ${options.connections} connections\n`,
          );
          await turn(urls[i], body.bytes, options, tallies[i]);
        }
      }
      for (const [i, contender] of list.entries()) rows.push(await finish(contender, body, paths[i], urls[i], tallies[i], counts));
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await origin.stop();
  }
  // Grouped by body; each row's ratios are to node:http serving the same body.
  const ordered = rows;
  const baseOf = (row: CacheHitRow) => ordered.find((r) => r.body === row.body && r.originRequests === null)!;
  const table = markdownTable(
    ["server", "body", "req/s", "× node", "p50 ms", "× node", "p99 ms", "× node", "req/s by round", "origin requests", "failed"],
    ordered.map((r) => {
      const base = baseOf(r);
      return [
        r.server,
        r.body,
        fmt(r.rps),
        ratio(r.rps, base.rps),
        fmt(r.p50Ms, 2),
        ratio(r.p50Ms, base.p50Ms),
        fmt(r.p99Ms, 2),
        ratio(r.p99Ms, base.p99Ms),
        r.roundRps.map((rps) => fmt(rps)).join(" / "),
        r.originRequests === null ? "–" : `${r.originRequests}${r.originRequests === 1 ? "" : " (!)"}`,
        String(r.failed),
      ];
    }),
  );
  const data = {
    benchmark: "cache-hit",
    ...machine(),
    settings: { ...options, loadGenerator: "autocannon (in the parent process)", outpostWorkers: "default (one per core)", varnishStorage: "malloc,256m" },
    notes,
    results: ordered.map((r) => {
      const base = baseOf(r);
      return { ...r, rpsRatio: r.rps / base.rps, p50Ratio: r.p50Ms / base.p50Ms, p99Ratio: r.p99Ms / base.p99Ms };
    }),
  };
  const path = writeResult("cache-hit", data);
  const failures = ordered.flatMap((r) => r.problems.map((p) => `${r.server}, ${r.body}: ${p}`));
  return { table, notes, failures, data, path };
}

if (import.meta.main) {
  requireNode24();
  const { values } = parseArgs({
    options: { duration: { type: "string" }, warmup: { type: "string" }, connections: { type: "string" }, rounds: { type: "string" } },
  });
  const { table, notes, failures, path } = await runCacheHit({
    duration: Number(values.duration ?? DEFAULT_CACHE_HIT.duration),
    warmup: Number(values.warmup ?? DEFAULT_CACHE_HIT.warmup),
    connections: Number(values.connections ?? DEFAULT_CACHE_HIT.connections),
    rounds: Number(values.rounds ?? DEFAULT_CACHE_HIT.rounds),
  });
  console.log(table);
  for (const note of [...notes, ...failures.map((f) => `FAILED CHECK: ${f}`)]) console.log(`\n${note}`);
  console.log(`\n(${path})`);
  if (failures.length > 0) process.exitCode = 1;
}
