// The peer comparison: Outpost's hello guests, its cache (through a guest and
// through the no-code service) and the peers (hono, workerd, Varnish, nginx),
// each with a bare node:http server measured in the same run as the baseline.
// The contenders are in bench/contenders/index.ts; what cannot be installed or
// started is skipped with a note.
//
// Everything is built, installed and started first, then checked (each
// answers what it should; each cache's second request is a hit), then the
// rows take turns, `rounds` times (row 1, row 2, ..., row 1, row 2, ...),
// each turn a slice of the warm-up and a slice of the measured duration: the
// background load of a shared machine drifts, and interleaving spreads the
// drift over every row instead of one. After the rounds each cache must
// still answer a hit, and the origin must have seen one request per cached
// URL in all.
//
//   node bench/peers.ts [--duration=10] [--warmup=2] [--connections=50] [--rounds=2] [--quick]
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { GROUPS, type RowSpec, type ServerSpec, servers, type Started } from "./contenders/index.ts";
import { autocannonLoad, fmt, machine, measuredTurn, requireNode24, RESULTS, startServerProcess, summarize, type Tally } from "./lib.ts";
import { type PeerReport, type PeerRow, peersTable, skippedContenders, writeReport } from "./report.ts";
import { judgeTarget } from "./targets.ts";

export interface PeersOptions {
  /** Measured seconds per row, over all rounds. */
  duration: number;
  /** Warm-up seconds per row, over all rounds (discarded). */
  warmup: number;
  connections: number;
  rounds: number;
  /** A cap on the requests of one turn (autocannon's maxOverallRequests). */
  maxRequestsPerTurn: number;
}

export const DEFAULT_PEERS: PeersOptions = { duration: 10, warmup: 2, connections: 50, rounds: 2, maxRequestsPerTurn: 2_000_000 };
export const QUICK_PEERS: PeersOptions = { duration: 2, warmup: 0.5, connections: 50, rounds: 1, maxRequestsPerTurn: 2_000_000 };


interface Live {
  spec: RowSpec;
  url: string;
  version?: string;
  tally: Tally;
  /** Cache rows: origin requests for the row's URL over the whole run. */
  originRequests: number | null;
}

const log = (message: string) => process.stderr.write(`peers: ${message}\n`);

/** A GET that must answer 200 with the row's body (or its length); returns the headers. */
async function checkedGet(url: string, spec: RowSpec): Promise<Headers> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = new Uint8Array(await response.arrayBuffer());
  const text = new TextDecoder().decode(body.subarray(0, 200));
  const ok = response.status === 200 && (spec.body !== undefined ? Buffer.from(body).toString() === spec.body : body.byteLength === spec.bytes);
  if (!ok) {
    const expected = spec.body !== undefined ? JSON.stringify(spec.body) : `${spec.bytes} bytes`;
    throw new Error(`answered ${response.status} with ${body.byteLength} bytes (${JSON.stringify(text)}), expected 200 with ${expected}`);
  }
  return response.headers;
}

/** One turn: a slice of warm-up, then a slice of measured load. */
async function turn(live: Live, options: PeersOptions): Promise<void> {
  const { tally, spec } = live;
  const warmup = options.warmup / options.rounds;
  const duration = options.duration / options.rounds;
  const load = { url: live.url, connections: options.connections, maxOverallRequests: options.maxRequestsPerTurn };
  if (warmup > 0) await autocannonLoad({ ...load, duration: warmup });
  await measuredTurn(tally, { ...load, duration }, spec.bytes);
}

/** Requests the origin saw for `path` (also counting it written with doubled slashes, as a proxy joining URLs might). */
function originRequestsFor(counts: Record<string, number>, path: string): number {
  let total = 0;
  for (const [seen, n] of Object.entries(counts)) if (seen.replace(/\/{2,}/g, "/") === path) total += n;
  return total;
}

function skippedRow(spec: RowSpec, note: string): PeerRow {
  return {
    id: spec.id,
    group: spec.group,
    name: spec.name,
    baseline: spec.baseline ?? false,
    skipped: note,
    rps: null,
    p50Ms: null,
    p99Ms: null,
    rpsRatio: null,
    p50Ratio: null,
    p99Ratio: null,
    roundRps: [],
    requests: 0,
    failed: 0,
    originRequests: null,
    target: null,
    problems: [],
  };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.trim().split("\n");
  return lines.length > 1 ? `${lines[0]} … ${lines.at(-1)}` : lines[0];
}

export async function runPeers(options: PeersOptions = DEFAULT_PEERS): Promise<PeerReport> {
  const info = machine();
  const started = performance.now();
  const specs: ServerSpec[] = servers();
  const skipped = new Map<string, string>(); // row id → note
  const prepared = new Map<ServerSpec, unknown>();
  // Builds and installs first: nothing is timed yet.
  for (const spec of specs) {
    try {
      prepared.set(spec, await spec.prepare());
    } catch (error) {
      log(`${spec.name}: skipped: ${firstLine(error)}`);
      for (const row of spec.rows) skipped.set(row.id, firstLine(error));
    }
  }
  const origin = await startServerProcess(["origin"]);
  const running: Started[] = [];
  const live: Live[] = [];
  try {
    for (const spec of specs) {
      if (!prepared.has(spec)) continue;
      let server: Started;
      try {
        log(`starting ${spec.name}`);
        server = await spec.start(prepared.get(spec), { originUrl: origin.url });
        running.push(server);
      } catch (error) {
        log(`${spec.name}: skipped: did not start: ${firstLine(error)}`);
        for (const row of spec.rows) skipped.set(row.id, `did not start: ${firstLine(error)}`);
        continue;
      }
      for (const row of spec.rows) {
        live.push({
          spec: row,
          url: server.url + row.path,
          version: server.version,
          tally: { latencies: [], seconds: 0, requests: 0, roundRps: [], non2xx: 0, errors: 0, timeouts: 0, short: 0, problems: [] },
          originRequests: null,
        });
      }
    }
    // Each answers what it should; a cache is filled by the first request and must hit on the second.
    for (const row of [...live]) {
      try {
        await checkedGet(row.url, row.spec);
        if (row.spec.hit && !row.spec.hit(await checkedGet(row.url, row.spec))) row.tally.problems.push("the request after the first was not a hit");
      } catch (error) {
        log(`${row.spec.name} (${row.spec.group}): skipped: ${firstLine(error)}`);
        skipped.set(row.spec.id, firstLine(error));
        live.splice(live.indexOf(row), 1);
      }
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const row of live) {
        log(
          `round ${round}/${options.rounds}: ${row.spec.name} (${row.spec.group}): ${fmt(options.warmup / options.rounds, 2)} s warm-up + ${fmt(options.duration / options.rounds, 2)} s × ${options.connections} connections`,
        );
        await turn(row, options);
      }
    }
    for (const row of live) {
      if (!row.spec.hit) continue;
      const headers = await checkedGet(row.url, row.spec).catch(() => new Headers());
      if (!row.spec.hit(headers)) row.tally.problems.push("a request after the run was not a hit");
    }
    // Counted after that last request too: it must not have reached the origin either.
    const counts = await origin.ask<Record<string, number>>({ type: "counts" });
    for (const row of live) {
      if (!row.spec.hit) continue;
      row.originRequests = originRequestsFor(counts, row.spec.path);
      if (row.originRequests !== 1) row.tally.problems.push(`the origin saw ${row.originRequests} requests for ${row.spec.path}, expected 1`);
    }
  } finally {
    await Promise.all(running.map((server) => server.stop()));
    await origin.stop();
  }

  // Rows in the contenders' order, grouped by test.
  const byId = new Map(live.map((row) => [row.spec.id, row]));
  const rows: PeerRow[] = [];
  for (const group of GROUPS) {
    for (const spec of specs.flatMap((s) => s.rows).filter((r) => r.group === group.id)) {
      const row = byId.get(spec.id);
      if (!row) {
        rows.push(skippedRow(spec, skipped.get(spec.id) ?? "not measured"));
        continue;
      }
      const t = row.tally;
      const failed = t.non2xx + t.errors + t.timeouts + t.short;
      if (failed > 0) t.problems.push(`${failed} failed responses (${t.non2xx} non-2xx, ${t.errors} errors, ${t.timeouts} timeouts, ${t.short} short)`);
      const stats = summarize(t.latencies);
      rows.push({
        ...skippedRow(spec, ""),
        skipped: null,
        version: row.version,
        rps: stats.n / t.seconds,
        p50Ms: stats.median,
        p99Ms: stats.p99,
        roundRps: t.roundRps,
        requests: t.requests,
        failed,
        originRequests: row.originRequests,
        problems: t.problems,
      });
    }
  }
  for (const row of rows) {
    const base = rows.find((r) => r.group === row.group && r.baseline && !r.skipped);
    if (!row.skipped && base) {
      row.rpsRatio = row.rps! / base.rps!;
      row.p50Ratio = row.p50Ms! / base.p50Ms!;
      row.p99Ratio = row.p99Ms! / base.p99Ms!;
    }
  }
  const specOf = new Map(specs.flatMap((s) => s.rows).map((r) => [r.id, r]));
  for (const row of rows) {
    const target = specOf.get(row.id)?.target;
    if (target) row.target = judgeTarget(target, row, rows);
  }
  const notes: string[] = [];
  if (info.load1 > info.cores / 2) notes.push(`The machine was busy when the run started (load average ${info.load1} on ${info.cores} cores): the numbers are noisy.`);
  const failures = rows.flatMap((r) => r.problems.map((p) => `${r.name} (${GROUPS.find((g) => g.id === r.group)!.title}): ${p}`));
  for (const failure of failures) log(`FAILED CHECK: ${failure}`);
  return {
    benchmark: "peers",
    date: info.date,
    node: info.node,
    cores: info.cores,
    cpu: info.cpu,
    load: { start: info.load1, end: Number(loadavg()[0].toFixed(2)) },
    seconds: (performance.now() - started) / 1000,
    settings: { ...options, loadGenerator: "autocannon 9 in the benchmark's process, no pipelining, exact per-response latencies" },
    groups: GROUPS.map((g) => ({ ...g })),
    rows,
    notes,
    failures,
    sections: [],
  };
}

export function peersOptions(values: { duration?: string; warmup?: string; connections?: string; rounds?: string; quick?: boolean }): PeersOptions {
  const base = values.quick ? QUICK_PEERS : DEFAULT_PEERS;
  return {
    duration: Number(values.duration ?? base.duration),
    warmup: Number(values.warmup ?? base.warmup),
    connections: Number(values.connections ?? base.connections),
    rounds: Number(values.rounds ?? base.rounds),
    maxRequestsPerTurn: base.maxRequestsPerTurn,
  };
}

if (import.meta.main) {
  requireNode24();
  const { values } = parseArgs({
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      rounds: { type: "string" },
      quick: { type: "boolean" },
    },
  });
  const report = await runPeers(peersOptions(values));
  console.log(peersTable(report));
  for (const skip of skippedContenders(report)) console.log(`\nskipped: ${skip.name} (${skip.groups.join("; ")}): ${skip.note}`);
  const paths = writeReport(report, RESULTS);
  console.log(`\n(${paths.md}, ${paths.json}, ${paths.svg})`);
  if (report.failures.length > 0) process.exitCode = 1;
}
