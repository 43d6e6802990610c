// Request collapsing: 1,000 concurrent requests for one uncached URL, with a
// slow origin (headers at once, then 10 KiB streamed over 200 ms). A cache
// that collapses sends the origin one request and streams its body to all
// 1,000 clients as it arrives; the best possible time for all of them is the
// origin's 200 ms. Each round uses a fresh URL. For reference, the same
// 1,000 requests sent straight to the origin (no cache), and Varnish when it
// is installed.
//
// The 1,000 connections are opened (and the servers warmed) by a first round
// on a fast URL, which is not reported; each measured request then runs on
// its own keep-alive connection.
//
//   node bench/collapsing.ts [--clients=1000] [--rounds=5] [--slow-ms=200]
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { cacheProxy, fmt, machine, markdownTable, requireNode24, startServerProcess, summarize, writeResult } from "./lib.ts";
import { findVarnishd, startVarnish, VARNISH_MISSING } from "./contenders/varnish.ts";

export interface CollapsingOptions {
  clients: number;
  rounds: number;
  slowMs: number;
}

export const DEFAULT_COLLAPSING: CollapsingOptions = { clients: 1000, rounds: 5, slowMs: 200 };

/** bench/server.ts `origin`: paths under /slow/ answer 10 chunks of 1 KiB spread over SLOW_MS. */
const SLOW_BYTES = 10 * 1024;

export interface CollapsingRound {
  server: string;
  round: number;
  path: string;
  /** Requests the origin received for the round's URL. */
  originRequests: number;
  /** From the first request sent to the last body complete. */
  allDoneMs: number;
  /** Per request: time to the response head, and to the body's end. */
  headP50Ms: number;
  doneP50Ms: number;
  doneP99Ms: number;
  /** How the responses say they were served (e.g. "MISS", "HIT collapsed"). */
  servedAs: Record<string, number>;
  /** Non-200 answers, errors, and bodies of the wrong length. */
  failed: number;
}

interface Contender {
  name: string;
  prefix: string;
  start(originUrl: string): Promise<{ url: string; stop(): Promise<void> }>;
  /** A short description of how a response was served. */
  servedAs(headers: IncomingHttpHeaders): string;
}

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(", ") : (value ?? ""));

function contenders(notes: string[]): Contender[] {
  const list: Contender[] = [
    {
      name: "origin directly (no cache)",
      prefix: "direct",
      start: async (originUrl) => ({ url: originUrl, stop: async () => {} }),
      servedAs: () => "origin",
    },
    {
      name: "Outpost, cache-proxy.wat",
      prefix: "outpost",
      start: async (originUrl) => startServerProcess(["outpost", await cacheProxy(), "-", `origin=${originUrl}`]),
      servedAs: (headers) => `${one(headers["x-cache"]) || "no x-cache"}${/; collapsed/.test(one(headers["cache-status"])) ? " collapsed" : ""}`,
    },
  ];
  const varnishd = findVarnishd();
  if (varnishd) {
    list.push({
      name: "Varnish",
      prefix: "varnish",
      start: (originUrl) => startVarnish(varnishd, originUrl),
      servedAs: (headers) => (one(headers["x-varnish"]).trim().split(/\s+/).length === 2 ? "hit" : "miss"),
    });
  } else {
    notes.push(`${VARNISH_MISSING}: skipped.`);
  }
  return list;
}

interface Outcome {
  status: number;
  bytes: number;
  headMs: number;
  doneMs: number;
  servedAs: string;
  error?: string;
}

/** `clients` concurrent GETs of one path, each on its own connection; times are from `start`. */
async function burst(pool: Pool, path: string, clients: number, servedAs: (headers: IncomingHttpHeaders) => string) {
  const start = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: clients }, async (): Promise<Outcome> => {
      try {
        const response = await pool.request({ path, method: "GET" });
        const headMs = performance.now() - start;
        let bytes = 0;
        for await (const chunk of response.body) bytes += (chunk as Buffer).byteLength;
        return { status: response.statusCode, bytes, headMs, doneMs: performance.now() - start, servedAs: servedAs(response.headers) };
      } catch (error) {
        const ms = performance.now() - start;
        return { status: 0, bytes: 0, headMs: ms, doneMs: ms, servedAs: "error", error: (error as Error).message };
      }
    }),
  );
  return { outcomes, allDoneMs: performance.now() - start };
}

async function measure(contender: Contender, originUrl: string, options: CollapsingOptions, originCounts: () => Promise<Record<string, number>>) {
  const server = await contender.start(originUrl);
  const pool = new Pool(server.url, { connections: options.clients, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
  const rounds: CollapsingRound[] = [];
  try {
    // Opens the connections (and warms the server): not reported.
    const warm = await burst(pool, `/${contender.prefix}/warm/2b`, options.clients, contender.servedAs);
    const warmFailed = warm.outcomes.filter((o) => o.status !== 200).length;
    if (warmFailed > 0) throw new Error(`${contender.name}: ${warmFailed} of the warm-up requests failed (${warm.outcomes.find((o) => o.status !== 200)?.error ?? "status"})`);
    for (let round = 1; round <= options.rounds; round++) {
      const path = `/slow/${contender.prefix}-${round}-${randomUUID().slice(0, 8)}`;
      const { outcomes, allDoneMs } = await burst(pool, path, options.clients, contender.servedAs);
      const servedAs: Record<string, number> = {};
      for (const o of outcomes) servedAs[o.servedAs] = (servedAs[o.servedAs] ?? 0) + 1;
      const failures = outcomes.filter((o) => o.status !== 200 || o.bytes !== SLOW_BYTES);
      if (failures.length > 0) {
        const sample = failures[0];
        process.stderr.write(`collapsing: ${contender.name}, round ${round}: ${failures.length} failed (e.g. status ${sample.status}, ${sample.bytes} bytes${sample.error ? `, ${sample.error}` : ""})\n`);
      }
      const heads = summarize(outcomes.map((o) => o.headMs));
      const dones = summarize(outcomes.map((o) => o.doneMs));
      rounds.push({
        server: contender.name,
        round,
        path,
        originRequests: (await originCounts())[path] ?? 0,
        allDoneMs,
        headP50Ms: heads.median,
        doneP50Ms: dones.median,
        doneP99Ms: dones.p99,
        servedAs,
        failed: failures.length,
      });
    }
  } finally {
    await pool.close();
    await server.stop();
  }
  return rounds;
}

export async function runCollapsing(options: CollapsingOptions = DEFAULT_COLLAPSING) {
  const notes: string[] = [];
  const list = contenders(notes);
  await cacheProxy();
  const origin = await startServerProcess(["origin", String(options.slowMs)]);
  const rounds: CollapsingRound[] = [];
  try {
    for (const contender of list) {
      process.stderr.write(`collapsing: ${contender.name}: ${options.rounds} rounds of ${options.clients} concurrent requests\n`);
      rounds.push(...(await measure(contender, origin.url, options, () => origin.ask<Record<string, number>>({ type: "counts" }))));
    }
  } finally {
    await origin.stop();
  }
  const table = markdownTable(
    ["server", "round", "origin requests", `all ${fmt(options.clients)} done ms`, "p50 head ms", "p50 done ms", "p99 done ms", "served as", "failed"],
    rounds.map((r) => [
      r.server,
      String(r.round),
      fmt(r.originRequests),
      fmt(r.allDoneMs),
      fmt(r.headP50Ms),
      fmt(r.doneP50Ms),
      fmt(r.doneP99Ms),
      Object.entries(r.servedAs)
        .sort((a, b) => b[1] - a[1])
        .map(([how, n]) => `${fmt(n)} ${how}`)
        .join(", "),
      String(r.failed),
    ]),
  );
  const data = {
    benchmark: "collapsing",
    ...machine(),
    settings: { ...options, slowBody: `${SLOW_BYTES} bytes in 10 chunks over ${options.slowMs} ms`, client: "undici Pool in the parent process, one connection per request", outpostWorkers: "default (one per core)" },
    notes,
    results: rounds,
  };
  const path = writeResult("collapsing", data);
  const failures = rounds
    .filter((r) => r.failed > 0 || (r.server.startsWith("Outpost") && r.originRequests !== 1))
    .map((r) => `${r.server}, round ${r.round}: ${r.originRequests} origin requests, ${r.failed} failed`);
  return { table, notes, failures, data, path };
}

if (import.meta.main) {
  requireNode24();
  const { values } = parseArgs({ options: { clients: { type: "string" }, rounds: { type: "string" }, "slow-ms": { type: "string" } } });
  const { table, notes, failures, path } = await runCollapsing({
    clients: Number(values.clients ?? DEFAULT_COLLAPSING.clients),
    rounds: Number(values.rounds ?? DEFAULT_COLLAPSING.rounds),
    slowMs: Number(values["slow-ms"] ?? DEFAULT_COLLAPSING.slowMs),
  });
  console.log(table);
  for (const note of [...notes, ...failures.map((f) => `FAILED CHECK: ${f}`)]) console.log(`\n${note}`);
  console.log(`\n(${path})`);
  if (failures.length > 0) process.exitCode = 1;
}
